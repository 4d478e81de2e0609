// Every golden case: the resources parse, follow FHIR's JSON rules, carry an identifier,
// security labels and a well-formed narrative; transaction bundles wire references.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "adapters/fhir/bundle.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/mapping.h"
#include "gtest/gtest.h"
#include "tests/fhir/fhir_test_util.h"
#include "tests/fhir/golden_cases.h"

namespace collabcare::fhir::testing {
namespace {

TEST(GoldenTest, CaseNamesAreUniqueAndCoverEveryRecordType) {
  std::set<std::string> names;
  std::set<size_t> kinds;
  for (const GoldenCase& c : GoldenCases()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    kinds.insert(c.record.index());
  }
  EXPECT_EQ(kinds.size(), 5u);
}

TEST(GoldenTest, EveryResourceIsWellFormedFhirJson) {
  const CanonicalUrls urls;
  const std::set<std::string> profiled = {"Goal", "CarePlan", "ClinicalImpression", "Composition"};
  std::set<std::string> types;
  for (const GoldenCase& c : GoldenCases()) {
    absl::StatusOr<std::vector<FhirResource>> resources = MapGoldenCase(c, urls);
    ASSERT_TRUE(resources.ok()) << c.name << ": " << resources.status();
    ASSERT_FALSE(resources->empty()) << c.name;
    for (const FhirResource& r : *resources) {
      SCOPED_TRACE(c.name + " " + r.type + " " + r.key);
      types.insert(r.type);
      const JsonValue v = Parse(r.json);
      ASSERT_TRUE(v.is_object());
      EXPECT_EQ(Text(v, "resourceType"), r.type);
      EXPECT_TRUE(JsonRuleViolations(v).empty()) << JsonRuleViolations(v).front();
      // Business key: identifier, or a urn:uuid tag where R4 has no identifier.
      if (r.key_is_tag) {
        EXPECT_EQ(Text(v, "meta.tag[0].code"), UuidForKey(urls, r.key));
        EXPECT_EQ(At(v, "identifier"), nullptr);
      } else if (r.type == "QuestionnaireResponse" || r.type == "Composition") {
        EXPECT_EQ(Text(v, "identifier.value"), r.key);
        EXPECT_EQ(Text(v, "identifier.system"), urls.record_identifier);
      } else {
        EXPECT_EQ(Text(v, "identifier[0].value"), r.key);
        EXPECT_EQ(Text(v, "identifier[0].system"), urls.record_identifier);
      }
      EXPECT_EQ(Text(v, "meta.security[0].code"), "R");
      EXPECT_EQ(Text(v, "meta.security[1].code"), "MH");
      if (profiled.count(r.type) > 0) {
        EXPECT_NE(At(v, "meta.profile"), nullptr);
      }
      EXPECT_EQ(Text(v, "text.status"), "generated");
      std::string why;
      EXPECT_TRUE(IsWellFormedNarrative(Text(v, "text.div"), &why)) << why;
    }
  }
  EXPECT_EQ(types, (std::set<std::string>{"CarePlan", "CareTeam", "Goal", "Provenance",
                                          "ClinicalImpression", "Condition", "Observation",
                                          "QuestionnaireResponse", "Composition",
                                          "DocumentReference", "AuditEvent"}));
}

TEST(GoldenTest, NarrativesShowTheClientsWords) {
  const CanonicalUrls urls;
  for (const GoldenCase& c : GoldenCases()) {
    const auto* goal = std::get_if<v1::Goal>(&c.record);
    if (goal == nullptr || goal->words().find_first_of("<>&\"'\n\\") != std::string::npos) {
      continue;
    }
    absl::StatusOr<std::vector<FhirResource>> r = MapGoldenCase(c, urls);
    ASSERT_TRUE(r.ok());
    for (const FhirResource& res : *r) {
      EXPECT_TRUE(absl::StrContains(Text(Parse(res.json), "text.div"), goal->words()))
          << c.name << " " << res.type;
    }
  }
}

TEST(GoldenTest, TransactionBundleWiresReferences) {
  const CanonicalUrls urls;
  std::vector<FhirResource> all;
  for (const GoldenCase& c : GoldenCases()) {
    if (c.name != "goal-restated-corrected" && c.name != "review-signed") continue;
    absl::StatusOr<std::vector<FhirResource>> r = MapGoldenCase(c, urls);
    ASSERT_TRUE(r.ok());
    all.insert(all.end(), r->begin(), r->end());
  }
  absl::StatusOr<std::string> bundle = TransactionBundle(all, urls);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const JsonValue b = Parse(*bundle);
  EXPECT_EQ(Text(b, "resourceType"), "Bundle");
  EXPECT_EQ(Text(b, "type"), "transaction");
  ASSERT_EQ(At(b, "entry")->items().size(), all.size());
  std::set<std::string> full_urls;
  for (const JsonValue& e : At(b, "entry")->items()) {
    EXPECT_TRUE(absl::StartsWith(Text(e, "fullUrl"), "urn:uuid:"));
    full_urls.insert(Text(e, "fullUrl"));
    EXPECT_TRUE(JsonRuleViolations(e).empty());
  }
  EXPECT_EQ(full_urls.size(), all.size());
  // Goal: conditional update by identifier.
  const JsonValue& goal = At(b, "entry")->items()[0];
  EXPECT_EQ(Text(goal, "request.method"), "PUT");
  EXPECT_EQ(Text(goal, "request.url"),
            "Goal?identifier=https://collabcare.dev/fhir/sid/record|episodes/e1/goals/g1");
  // Provenance: conditional create by tag; its target resolves to the Goal's entry.
  const JsonValue& prov = At(b, "entry")->items()[1];
  EXPECT_EQ(Text(prov, "request.method"), "POST");
  EXPECT_EQ(Text(prov, "request.url"), "Provenance");
  EXPECT_EQ(Text(prov, "request.ifNoneExist"),
            "_tag=urn:ietf:rfc:3986|" + UuidForKey(urls, "episodes/e1/goals/g1/provenance/4"));
  EXPECT_EQ(Text(prov, "resource.target[0].reference"), Text(goal, "fullUrl"));
  // A rating on g2 (not in the bundle) gets a conditional reference; on g1 the urn:uuid.
  int uuid_refs = 0, conditional_refs = 0;
  for (const JsonValue& e : At(b, "entry")->items()) {
    if (Text(e, "resource.code.coding[0].code") != "goal-rating") continue;
    const std::string ref = Text(e, "resource.focus[0].reference");
    if (Text(e, "resource.focus[0].identifier.value") == "episodes/e1/goals/g1") {
      EXPECT_EQ(ref, Text(goal, "fullUrl"));
      ++uuid_refs;
    } else {
      EXPECT_EQ(ref, "Goal?identifier=https://collabcare.dev/fhir/sid/record|episodes/e1/goals/g2");
      ++conditional_refs;
    }
  }
  EXPECT_EQ(uuid_refs, 3);
  EXPECT_EQ(conditional_refs, 3);
}

// Medplum rewrites every string equal to an entry's fullUrl into "Type/<id>", meta.tag codes
// included: a tag equal to its entry's fullUrl would never match a retry's `_tag` search.
TEST(GoldenTest, EntryFullUrlsNeverEqualTagCodes) {
  const CanonicalUrls urls;
  std::vector<FhirResource> all;
  for (const GoldenCase& c : GoldenCases()) {
    absl::StatusOr<std::vector<FhirResource>> r = MapGoldenCase(c, urls);
    ASSERT_TRUE(r.ok()) << c.name;
    for (FhirResource& f : *r) {
      bool seen = false;
      for (const FhirResource& a : all) seen |= a.key == f.key;
      if (!seen) all.push_back(std::move(f));
    }
  }
  absl::StatusOr<std::string> bundle = TransactionBundle(all, urls);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const JsonValue b = Parse(*bundle);
  int tagged = 0;
  for (const JsonValue& e : At(b, "entry")->items()) {
    const std::string full_url = Text(e, "fullUrl");
    if (Text(e, "request.method") != "POST") continue;
    ++tagged;
    const std::string tag = Text(e, "resource.meta.tag[0].code");
    EXPECT_TRUE(absl::StartsWith(tag, "urn:uuid:"));
    EXPECT_NE(full_url, tag);
    EXPECT_EQ(Text(e, "request.ifNoneExist"), "_tag=urn:ietf:rfc:3986|" + tag);
  }
  EXPECT_GT(tagged, 0);
  // Different from the tag code, but just as stable and as well-formed.
  const std::string a = EntryUuidForKey(urls, "episodes/e1/goals/g1/provenance/4");
  EXPECT_EQ(a, EntryUuidForKey(urls, "episodes/e1/goals/g1/provenance/4"));
  EXPECT_NE(a, UuidForKey(urls, "episodes/e1/goals/g1/provenance/4"));
  ASSERT_EQ(a.size(), 9u + 36u);
  EXPECT_EQ(a[9 + 14], '5');
}

TEST(GoldenTest, BundleRefusesDuplicateKeys) {
  const CanonicalUrls urls;
  FhirResource r{"Goal", "episodes/e1/goals/g1", false, R"({"resourceType":"Goal"})"};
  EXPECT_EQ(TransactionBundle({r, r}, urls).status().code(), absl::StatusCode::kInvalidArgument);
  FhirResource bad{"Goal", "episodes/e1/goals/g2", false, "not json"};
  EXPECT_EQ(TransactionBundle({bad}, urls).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GoldenTest, UuidsAreStableVersion5) {
  const CanonicalUrls urls;
  const std::string a = UuidForKey(urls, "episodes/e1/goals/g1");
  EXPECT_EQ(a, UuidForKey(urls, "episodes/e1/goals/g1"));
  EXPECT_NE(a, UuidForKey(urls, "episodes/e1/goals/g2"));
  EXPECT_NE(a, UuidForKey(CanonicalUrls("https://other.example/fhir"), "episodes/e1/goals/g1"));
  ASSERT_EQ(a.size(), 9u + 36u);
  EXPECT_EQ(a[9 + 14], '5');
  EXPECT_TRUE(a[9 + 19] == '8' || a[9 + 19] == '9' || a[9 + 19] == 'a' || a[9 + 19] == 'b');
}

TEST(GoldenTest, ConditionalUrlsEncodeQueryCharacters) {
  EXPECT_EQ(ConditionalUrl("Goal", "identifier", "https://x.org/sid", "a b&c#d|e"),
            "Goal?identifier=https://x.org/sid|a%20b%26c%23d%7Ce");
}

}  // namespace
}  // namespace collabcare::fhir::testing
