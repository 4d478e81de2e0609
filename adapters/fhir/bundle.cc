// Transaction Bundles: deterministic fullUrls, conditional writes, and references rewritten
// from logical (identifier) form to ones a FHIR server resolves inside a transaction.
#include "adapters/fhir/bundle.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/json_writer.h"
#include "openssl/sha.h"

namespace collabcare::fhir {
namespace {

// RFC 4122 name space for URLs: 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
constexpr unsigned char kUrlNamespace[16] = {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                             0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};

// Prefix of the names hashed into entry fullUrls (EntryUuidForKey), not into tag codes.
constexpr absl::string_view kEntrySalt = "bundle-entry|";

// "urn:uuid:" + the version 5 UUID of `name` in the URL name space (RFC 4122 section 4.3).
std::string NameUuid(absl::string_view name) {
  std::string bytes(reinterpret_cast<const char*>(kUrlNamespace), sizeof kUrlNamespace);
  bytes.append(name.data(), name.size());
  unsigned char h[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), h);
  h[6] = static_cast<unsigned char>((h[6] & 0x0F) | 0x50);  // version 5
  h[8] = static_cast<unsigned char>((h[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "urn:uuid:";
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[h[i] >> 4]);
    out.push_back(kHex[h[i] & 15]);
  }
  return out;
}

struct Target {
  absl::string_view type;
  std::string uuid;
};

// Adds `reference` to every logical reference below `v`: an object with a string `type`, an
// `identifier` of collabcare's system and no `reference` yet.
void Rewrite(JsonValue& v, const CanonicalUrls& urls,
             const absl::flat_hash_map<std::string, Target>& targets) {
  if (v.is_array()) {
    for (JsonValue& item : v.items()) Rewrite(item, urls, targets);
    return;
  }
  if (!v.is_object()) return;
  const JsonValue* type = v.Find("type");
  const JsonValue* identifier = v.Find("identifier");
  if (type != nullptr && type->is_string() && identifier != nullptr && identifier->is_object() &&
      v.Find("reference") == nullptr) {
    const JsonValue* system = identifier->Find("system");
    const JsonValue* value = identifier->Find("value");
    if (system != nullptr && system->is_string() && system->text() == urls.record_identifier &&
        value != nullptr && value->is_string()) {
      std::string reference;
      auto it = targets.find(value->text());
      if (it != targets.end() && it->second.type == type->text()) {
        reference = it->second.uuid;
      } else {
        reference = ConditionalUrl(type->text(), "identifier", system->text(), value->text());
      }
      auto& members = v.members();
      members.insert(members.begin(),
                     JsonValue::Member("reference", JsonValue::String(std::move(reference))));
      return;
    }
  }
  for (JsonValue::Member& m : v.members()) Rewrite(m.second, urls, targets);
}

}  // namespace

std::string UuidForKey(const CanonicalUrls& urls, absl::string_view key) {
  return NameUuid(absl::StrCat(urls.record_identifier, "|", key));
}

std::string EntryUuidForKey(const CanonicalUrls& urls, absl::string_view key) {
  return NameUuid(absl::StrCat(kEntrySalt, urls.record_identifier, "|", key));
}

std::string ConditionalUrl(absl::string_view type, absl::string_view param,
                           absl::string_view system, absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = absl::StrCat(type, "?", param, "=");
  const auto encode = [&](absl::string_view s) {
    for (const char ch : s) {
      const unsigned char c = static_cast<unsigned char>(ch);
      const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
                         c == '/' || c == ':';
      if (plain) {
        out.push_back(ch);
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
  };
  encode(system);
  out.push_back('|');
  encode(value);
  return out;
}

absl::StatusOr<std::string> TransactionBundle(const std::vector<FhirResource>& resources,
                                              const CanonicalUrls& urls) {
  absl::flat_hash_map<std::string, Target> targets;
  targets.reserve(resources.size());
  for (size_t i = 0; i < resources.size(); ++i) {
    const FhirResource& r = resources[i];
    if (r.key.empty() || r.type.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("Bundle.entry[", i, "]: no type or key"));
    }
    if (!targets.emplace(r.key, Target{r.type, EntryUuidForKey(urls, r.key)}).second) {
      return absl::InvalidArgumentError(absl::StrCat("Bundle.entry[", i, "]: duplicate key"));
    }
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.TrustedField("resourceType", "Bundle");
  w.TrustedField("type", "transaction");
  if (!resources.empty()) {
    w.Key("entry");
    w.BeginArray();
  }
  std::string json;
  for (size_t i = 0; i < resources.size(); ++i) {
    const FhirResource& r = resources[i];
    absl::StatusOr<JsonValue> parsed = ParseJson(r.json);
    if (!parsed.ok() || !parsed->is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Bundle.entry[", i, "].resource: not a JSON object"));
    }
    Rewrite(*parsed, urls, targets);
    json.clear();
    SerializeJson(*parsed, false, &json);
    w.BeginObject();
    w.Field("fullUrl", targets.at(r.key).uuid);
    w.Key("resource");
    w.Raw(json);
    w.Key("request");
    w.BeginObject();
    if (r.key_is_tag) {
      w.TrustedField("method", "POST");
      w.Field("url", r.type);
      w.Field("ifNoneExist",
              ConditionalUrl("", "_tag", "urn:ietf:rfc:3986", UuidForKey(urls, r.key)).substr(1));
    } else {
      w.TrustedField("method", "PUT");
      w.Field("url", ConditionalUrl(r.type, "identifier", urls.record_identifier, r.key));
    }
    w.EndObject();
    w.EndObject();
  }
  if (!resources.empty()) w.EndArray();
  w.EndObject();
  return out;
}

}  // namespace collabcare::fhir
