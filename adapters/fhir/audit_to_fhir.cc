// Audit record → AuditEvent in the style of IHE Basic Audit Log Patterns (fhir-facts.md 5.7):
// type rest, subtype the RESTful interaction, the caller as the requesting agent, collabcare as
// the observer, the record as the entity.
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/fhir/codes.h"
#include "adapters/fhir/json_writer.h"
#include "adapters/fhir/mapping.h"
#include "adapters/fhir/mapping_util.h"
#include "google/protobuf/timestamp.pb.h"
#include "openssl/sha.h"
#include "plugin/domain/timestamps.h"

namespace collabcare::fhir {
namespace {

using internal::LazyArray;
using internal::ResourceWriter;

struct Interaction {
  absl::string_view action;   // AuditEvent.action: C R U D E
  absl::string_view subtype;  // restful-interaction code, "" for none
};

// The RPC method's verb decides the action: reads (Get, List, Watch), creates (Create, Share,
// Start) and updates (every other change of a record); anything else is E (execute).
Interaction InteractionOf(absl::string_view rpc) {
  const size_t slash = rpc.rfind('/');
  const absl::string_view method = slash == absl::string_view::npos ? rpc : rpc.substr(slash + 1);
  for (absl::string_view p : {"Get", "Watch"}) {
    if (absl::StartsWith(method, p)) return {"R", "read"};
  }
  if (absl::StartsWith(method, "List")) return {"R", "search-type"};
  for (absl::string_view p : {"Create", "Share", "Start"}) {
    if (absl::StartsWith(method, p)) return {"C", "create"};
  }
  for (absl::string_view p :
       {"Update", "Restate", "Confirm", "Revise", "Respond", "Submit", "Add", "Sign"}) {
    if (absl::StartsWith(method, p)) return {"U", "update"};
  }
  return {"E", ""};
}

// AuditEvent.outcome: 0 success; 4 minor failure for what the caller can fix (absl codes
// 1 CANCELLED, 3 INVALID_ARGUMENT, 5 NOT_FOUND, 6 ALREADY_EXISTS, 7 PERMISSION_DENIED,
// 8 RESOURCE_EXHAUSTED, 9 FAILED_PRECONDITION, 10 ABORTED, 11 OUT_OF_RANGE,
// 16 UNAUTHENTICATED); 8 serious failure for the service's own (2 UNKNOWN, 4 DEADLINE_EXCEEDED,
// 12 UNIMPLEMENTED, 13 INTERNAL, 14 UNAVAILABLE, 15 DATA_LOSS).
absl::string_view Outcome(int code) {
  switch (code) {
    case 0:
      return "0";
    case 2:
    case 4:
    case 12:
    case 13:
    case 14:
    case 15:
      return "8";
    default:
      return "4";
  }
}

// The record kind of a resource name: episodes/e → episode, …/goals/g → goal, ….
Concept KindOfName(absl::string_view name) {
  if (absl::StrContains(name, "/goals/")) return kKindGoal;
  if (absl::StrContains(name, "/hypotheses/")) return kKindHypothesis;
  if (absl::StrContains(name, "/reviews/")) return kKindReview;
  if (absl::StartsWith(name, "episodes/")) return kKindEpisode;
  return {"", ""};
}

std::string AuditKey(const store::AuditRecord& a) {
  const std::string material = absl::StrCat(
      absl::ToUnixMicros(a.time), "\n", a.actor.size(), ":", a.actor, "\n", a.action.size(), ":",
      a.action, "\n", a.resource.size(), ":", a.resource, "\n", a.episode_id.size(), ":",
      a.episode_id, "\n", a.outcome, "\n", a.request_id.size(), ":", a.request_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key = "audit/";
  for (int i = 0; i < 16; ++i) {
    key.push_back(kHex[digest[i] >> 4]);
    key.push_back(kHex[digest[i] & 15]);
  }
  return key;
}

bool IsReference(absl::string_view actor) { return absl::StrContains(actor, "/"); }

void Entity(ResourceWriter& r, absl::string_view value, absl::string_view type_system,
            Concept type) {
  JsonWriter& w = r.w();
  w.BeginObject();
  w.Key("what");
  w.BeginObject();
  w.Key("identifier");
  w.BeginObject();
  w.Field("system", r.ctx().urls.record_identifier);
  w.Field("value", value);
  w.EndObject();
  w.EndObject();
  if (!type.code.empty()) {
    w.Key("type");
    r.Coding(type_system, type);
  }
  w.EndObject();
}

}  // namespace

absl::StatusOr<FhirResource> AuditToFhir(const store::AuditRecord& record,
                                         const MappingContext& ctx) {
  const store::AuditRecord& a = record;
  if (a.action.empty()) return absl::InvalidArgumentError("audit.action: required");
  google::protobuf::Timestamp recorded;
  domain::ToTimestamp(a.time, &recorded);
  const Interaction interaction = InteractionOf(a.action);
  const std::string status_name =
      absl::StatusCodeToString(static_cast<absl::StatusCode>(a.outcome));

  ResourceWriter r(ctx, "AuditEvent", AuditKey(a), true);
  JsonWriter& w = r.w();
  r.Meta("");
  r.BeginNarrative();
  w.Markup("<p>");
  w.Text(a.action);
  w.Markup(" by ");
  w.Text(a.actor.empty() ? "anonymous" : a.actor);
  if (!a.resource.empty()) {
    w.Markup(" on ");
    w.Text(a.resource);
  }
  w.Markup(": ");
  w.Text(status_name.empty() ? absl::StrCat("code ", a.outcome) : status_name);
  w.Markup("</p>");
  r.EndNarrative();
  w.Key("type");
  r.Coding(kAuditEventType, {"rest", "Restful Operation"});
  if (!interaction.subtype.empty()) {
    w.Key("subtype");
    w.BeginArray();
    r.Coding(kRestfulInteraction, {interaction.subtype, ""});
    w.EndArray();
  }
  w.TrustedField("action", interaction.action);
  w.Key("recorded");
  w.Instant(recorded, "audit.time");
  w.TrustedField("outcome", Outcome(a.outcome));
  if (a.outcome != 0 && !status_name.empty()) w.Field("outcomeDesc", status_name);

  w.Key("agent");
  w.BeginArray();
  // The caller (BALP "client" agent, DICOM 110153 Source Role ID).
  w.BeginObject();
  w.Key("type");
  r.CodeableConcept(kDicom, {"110153", "Source Role ID"});
  w.Key("who");
  w.BeginObject();
  if (IsReference(a.actor)) {
    w.Field("reference", a.actor);
  } else {
    w.Field("display", a.actor.empty() ? "anonymous" : a.actor);
  }
  w.EndObject();
  w.Key("requestor");
  w.Bool(true);
  w.EndObject();
  // collabcare itself (BALP "server" agent, DICOM 110152 Destination Role ID).
  w.BeginObject();
  w.Key("type");
  r.CodeableConcept(kDicom, {"110152", "Destination Role ID"});
  w.Key("who");
  w.BeginObject();
  w.TrustedField("display", "collabcare");
  w.EndObject();
  w.Key("requestor");
  w.Bool(false);
  w.EndObject();
  w.EndArray();

  w.Key("source");
  w.BeginObject();
  w.TrustedField("site", "collabcare");
  w.Key("observer");
  w.BeginObject();
  w.TrustedField("type", "Device");
  w.TrustedField("display", "collabcare");
  w.EndObject();
  w.Key("type");
  w.BeginArray();
  r.Coding(kAuditSourceType, {"4", "Application Server"});
  w.EndArray();
  w.EndObject();

  LazyArray entities(&w, "entity");
  if (!a.resource.empty()) {
    entities.Item();
    Entity(r, a.resource, ctx.urls.cs_record_kind, KindOfName(a.resource));
  }
  if (!a.episode_id.empty()) {
    const std::string episode = absl::StrCat("episodes/", a.episode_id);
    if (episode != a.resource) {
      entities.Item();
      Entity(r, episode, ctx.urls.cs_record_kind, kKindEpisode);
    }
  }
  if (!a.request_id.empty()) {
    // BALP records the request id as an entity of type XrequestId.
    entities.Item();
    w.BeginObject();
    w.Key("what");
    w.BeginObject();
    w.Key("identifier");
    w.BeginObject();
    w.Field("value", a.request_id);
    w.EndObject();
    w.EndObject();
    w.Key("type");
    r.Coding(kBalpEntityType, {"XrequestId", "X-Request-Id"});
    w.EndObject();
  }
  entities.Close();

  absl::string_view bad;
  if (!IsValidUtf8(a.actor)) {
    bad = "audit.actor";
  } else if (!IsValidUtf8(a.action)) {
    bad = "audit.action";
  } else if (!IsValidUtf8(a.resource)) {
    bad = "audit.resource";
  } else if (!IsValidUtf8(a.episode_id)) {
    bad = "audit.episode_id";
  } else {
    bad = "audit.request_id";
  }
  return r.Finish(bad);
}

}  // namespace collabcare::fhir
