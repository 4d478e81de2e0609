// The CDS Hooks 2.0 service: token checks, hook-request validation, cards from the use cases
// and feedback auditing.
#include "plugin/cds/cds_service.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "plugin/common/log.h"
#include "plugin/common/status_macros.h"

namespace collabcare::cds {
namespace {

using Json = nlohmann::json;

struct ServiceDef {
  const char* id;
  const char* hook;
  const char* title;
  const char* description;
  // Context fields the hook requires besides userId and patientId (CDS Hooks hook library).
  const char* extra_context;
};

constexpr ServiceDef kServices[] = {
    {kPatientViewId, "patient-view", "collabcare: collaborative care",
     "Cards when a patient's chart is opened: goals the client wrote or changed since the last "
     "signed review, in the client's own words; hypotheses awaiting an answer or answered "
     "\"does not fit\"; alliance, divergence and not-on-track alerts from shared reviews.",
     nullptr},
    {kEncounterStartId, "encounter-start", "collabcare: before the session",
     "Cards when an encounter starts: what the client wrote since the last signed review, "
     "hypotheses awaiting an answer or answered \"does not fit\", and alliance, divergence and "
     "not-on-track alerts, to bring into the session.",
     "encounterId"},
};

const ServiceDef* FindService(const std::string& id) {
  for (const ServiceDef& def : kServices) {
    if (id == def.id) return &def;
  }
  return nullptr;
}

constexpr auto kReplace = Json::error_handler_t::replace;

std::string Dump(const Json& json) { return json.dump(-1, ' ', false, kReplace); }

HttpReply Error(int status, absl::string_view message) {
  return {status, Dump(Json{{"error", std::string(message)}}), std::string(message)};
}

int HttpStatusOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return 503;
    default:
      return 500;
  }
}

bool IsHttpUrl(const std::string& url) {
  return (absl::StartsWith(url, "https://") && url.size() > 8) ||
         (absl::StartsWith(url, "http://") && url.size() > 7);
}

// FHIR's id type: [A-Za-z0-9\-\.]{1,64}.
bool IsFhirId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

// `Type/id` for the resource types that can be a CDS Hooks user.
bool IsUserReference(absl::string_view ref) {
  const size_t slash = ref.find('/');
  if (slash == absl::string_view::npos) return false;
  const absl::string_view type = ref.substr(0, slash);
  return (type == "Practitioner" || type == "PractitionerRole" || type == "Patient" ||
          type == "RelatedPerson") &&
         IsFhirId(ref.substr(slash + 1));
}

// 8-4-4-4-12 hexadecimal digits.
bool IsUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", problem));
}

// A required string member: INVALID_ARGUMENT "<field> is missing" / "<field> must be a string".
absl::StatusOr<std::string> RequiredString(const Json& object, const char* member,
                                           const std::string& field) {
  const auto it = object.find(member);
  if (it == object.end() || it->is_null()) return FieldError(field, "is missing");
  if (!it->is_string()) return FieldError(field, "must be a string");
  return it->get<std::string>();
}

// The validated parts of a hook request the service uses.
struct HookRequest {
  std::string hook_instance;
  std::string user;     // context.userId
  std::string patient;  // `Patient/{context.patientId}`
};

absl::StatusOr<HookRequest> ParseHookRequest(const ServiceDef& def, absl::string_view body) {
  const Json json = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("the body is not well-formed JSON");
  if (!json.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  HookRequest request;
  ASSIGN_OR_RETURN(const std::string hook, RequiredString(json, "hook", "hook"));
  if (hook != def.hook) {
    return FieldError("hook",
                      absl::StrCat("does not match this service (expected ", def.hook, ")"));
  }
  ASSIGN_OR_RETURN(request.hook_instance, RequiredString(json, "hookInstance", "hookInstance"));
  if (!IsUuid(request.hook_instance)) return FieldError("hookInstance", "must be a UUID");
  if (const auto server = json.find("fhirServer"); server != json.end() && !server->is_null()) {
    if (!server->is_string()) return FieldError("fhirServer", "must be a string");
  }
  for (const char* member : {"fhirAuthorization", "prefetch"}) {
    if (const auto it = json.find(member); it != json.end() && !it->is_null() && !it->is_object()) {
      return FieldError(member, "must be an object");
    }
  }
  const auto context = json.find("context");
  if (context == json.end() || context->is_null()) return FieldError("context", "is missing");
  if (!context->is_object()) return FieldError("context", "must be an object");
  ASSIGN_OR_RETURN(request.user, RequiredString(*context, "userId", "context.userId"));
  if (!IsUserReference(request.user)) {
    return FieldError("context.userId",
                      "must be a reference such as Practitioner/123 (Practitioner, "
                      "PractitionerRole, Patient or RelatedPerson)");
  }
  ASSIGN_OR_RETURN(const std::string patient_id,
                   RequiredString(*context, "patientId", "context.patientId"));
  if (!IsFhirId(patient_id)) return FieldError("context.patientId", "must be a FHIR id");
  request.patient = absl::StrCat("Patient/", patient_id);
  if (def.extra_context != nullptr) {
    const std::string field = absl::StrCat("context.", def.extra_context);
    ASSIGN_OR_RETURN(const std::string id, RequiredString(*context, def.extra_context, field));
    if (!IsFhirId(id)) return FieldError(field, "must be a FHIR id");
  }
  return request;
}

// What the feedback of one card says (the override comment is checked, then dropped).
struct FeedbackItem {
  std::string card;
  std::string outcome;  // "accepted" or "overridden"
};

absl::StatusOr<std::vector<FeedbackItem>> ParseFeedback(absl::string_view body, size_t max_items) {
  const Json json = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError("the body is not well-formed JSON");
  if (!json.is_object()) return absl::InvalidArgumentError("the body must be a JSON object");
  const auto feedback = json.find("feedback");
  if (feedback == json.end() || feedback->is_null()) return FieldError("feedback", "is missing");
  if (!feedback->is_array()) return FieldError("feedback", "must be an array");
  if (feedback->empty()) return FieldError("feedback", "is empty");
  if (feedback->size() > max_items) {
    return FieldError("feedback", absl::StrCat("has more than ", max_items, " items"));
  }
  std::vector<FeedbackItem> items;
  for (size_t i = 0; i < feedback->size(); ++i) {
    const Json& item = (*feedback)[i];
    const std::string where = absl::StrCat("feedback[", i, "]");
    if (!item.is_object()) return FieldError(where, "must be an object");
    FeedbackItem out;
    ASSIGN_OR_RETURN(out.card, RequiredString(item, "card", where + ".card"));
    if (!IsUuid(out.card)) return FieldError(where + ".card", "must be a card's uuid");
    ASSIGN_OR_RETURN(out.outcome, RequiredString(item, "outcome", where + ".outcome"));
    if (out.outcome != "accepted" && out.outcome != "overridden") {
      return FieldError(where + ".outcome", "must be accepted or overridden");
    }
    ASSIGN_OR_RETURN(const std::string timestamp,
                     RequiredString(item, "outcomeTimestamp", where + ".outcomeTimestamp"));
    absl::Time when;
    std::string ignored;
    if (!absl::ParseTime(absl::RFC3339_full, timestamp, &when, &ignored)) {
      return FieldError(where + ".outcomeTimestamp", "must be an ISO 8601 instant");
    }
    if (const auto accepted = item.find("acceptedSuggestions"); accepted != item.end()) {
      if (!accepted->is_array())
        return FieldError(where + ".acceptedSuggestions", "must be an array");
      // collabcare's cards carry no suggestions, so there is nothing to accept.
      if (!accepted->empty()) return FieldError(where + ".acceptedSuggestions", "must be empty");
    }
    if (const auto reason = item.find("overrideReason"); reason != item.end()) {
      const std::string field = where + ".overrideReason";
      if (out.outcome != "overridden") return FieldError(field, "is only for overridden cards");
      if (!reason->is_object()) return FieldError(field, "must be an object");
      if (const auto coding = reason->find("reason");
          coding != reason->end() && !coding->is_object()) {
        return FieldError(field + ".reason", "must be a Coding");
      }
      if (const auto comment = reason->find("userComment"); comment != reason->end()) {
        if (!comment->is_string()) return FieldError(field + ".userComment", "must be a string");
        if (comment->get_ref<const std::string&>().size() > 8 * 1024) {
          return FieldError(field + ".userComment", "is longer than 8 KiB");
        }
      }
    }
    items.push_back(std::move(out));
  }
  return items;
}

// A bounded map whose oldest entries go first when full. Thread-safe.
template <typename Value>
class BoundedMap {
 public:
  explicit BoundedMap(size_t capacity) : capacity_(capacity) {}

  // False (and nothing changes) if `key` is present already.
  bool Insert(const std::string& key, Value value) {
    if (capacity_ == 0) return true;
    std::lock_guard<std::mutex> lock(mu_);
    if (!map_.emplace(key, std::move(value)).second) return false;
    order_.push_back(key);
    while (order_.size() > capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

  std::optional<Value> Find(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }

  void Erase(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    map_.erase(key);  // its place in order_ goes with the next eviction
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, Value> map_;  // guarded by mu_
  std::deque<std::string> order_;                // guarded by mu_; insertion order
};

// Who saw an issued card, about what.
struct IssuedCard {
  std::string user;
  std::string episode_id;
  std::string record;
};

class RandomUuidSource final : public UuidSource {
 public:
  std::string NewUuid() override {
    std::array<unsigned char, 16> bytes;
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
      ERR_clear_error();
      // RAND_bytes fails only when the OS has no entropy to give; a card id is not worth
      // serving a call without, but neither may two cards share one.
      std::abort();
    }
    bytes[6] = (bytes[6] & 0x0F) | 0x40;  // version 4 (RFC 4122 section 4.4)
    bytes[8] = (bytes[8] & 0x3F) | 0x80;  // variant 10
    std::string out;
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
      absl::StrAppendFormat(&out, "%02x", bytes[i]);
    }
    return out;
  }
};

std::string EpisodeIdOf(const std::string& episode_name) {
  return std::string(absl::StripPrefix(episode_name, "episodes/"));
}

class CdsHooksServiceImpl final : public CdsHooksService {
 public:
  CdsHooksServiceImpl(service::CollabService& service, store::Store& audit, const Clock& clock,
                      UuidSource& uuids, CdsOptions options)
      : service_(service),
        audit_(audit),
        clock_(clock),
        uuids_(uuids),
        options_(std::move(options)),
        issued_(options_.remembered_cards),
        token_ids_(options_.remembered_token_ids) {}

  HttpReply Discovery() const override {
    Json services = Json::array();
    for (const ServiceDef& def : kServices) {
      services.push_back({{"hook", def.hook},
                          {"id", def.id},
                          {"title", def.title},
                          {"description", def.description},
                          {"prefetch", {{"patient", "Patient/{{context.patientId}}"}}}});
    }
    return {200, Dump(Json{{"services", std::move(services)}}), ""};
  }

  HttpReply Call(const std::string& service_id, absl::string_view authorization,
                 absl::string_view body) override {
    const auto start = std::chrono::steady_clock::now();
    size_t cards = 0;
    HttpReply reply = CallInner(service_id, authorization, body, &cards);
    LogCall("cds_call", service_id, reply, cards, start);
    return reply;
  }

  HttpReply Feedback(const std::string& service_id, absl::string_view authorization,
                     absl::string_view body) override {
    const auto start = std::chrono::steady_clock::now();
    size_t items = 0;
    HttpReply reply = FeedbackInner(service_id, authorization, body, &items);
    LogCall("cds_feedback", service_id, reply, items, start);
    return reply;
  }

 private:
  static void LogCall(absl::string_view event, const std::string& service_id,
                      const HttpReply& reply, size_t count,
                      std::chrono::steady_clock::time_point start) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    // The id is ours only when it names a service; anything else a caller sent stays out.
    const std::string service = FindService(service_id) != nullptr ? service_id : "unknown";
    Log(reply.status == 200 ? LogLevel::kDebug : LogLevel::kInfo, event,
        {{"service", service},
         {"status", absl::StrCat(reply.status)},
         {event == "cds_call" ? "cards" : "items", absl::StrCat(count)},
         {"latency_ms", absl::StrFormat("%.2f", ms)},
         {"reason", reply.reason}});
  }

  std::string Action(const std::string& service_id, absl::string_view suffix = "") const {
    return absl::StrCat("cds-hooks/", service_id, suffix);
  }

  HttpReply Refuse(const std::string& action, const absl::Status& status,
                   const std::string& actor = "") {
    service_.AuditRefusal(actor, action, status);
    return Error(HttpStatusOf(status), status.message());
  }

  // The trusted, verified client behind `authorization`, for a call to `service_id`.
  absl::StatusOr<identity::Caller> Authenticate(const ServiceDef& def,
                                                absl::string_view authorization) {
    absl::string_view token = authorization;
    if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
    if (token.size() < 7 || !absl::EqualsIgnoreCase(token.substr(0, 7), "Bearer ")) {
      return absl::UnauthenticatedError("missing bearer token");
    }
    token = absl::StripAsciiWhitespace(token.substr(7));
    if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
    ASSIGN_OR_RETURN(const identity::TokenRouting routing, identity::PeekTokenRouting(token));
    const TrustedClient* client = nullptr;
    for (const TrustedClient& candidate : options_.clients) {
      if (candidate.issuer == routing.issuer) client = &candidate;
    }
    if (client == nullptr) return absl::UnauthenticatedError("untrusted issuer");
    identity::TokenVerifier* verifier = nullptr;
    if (!routing.jku.empty()) {
      const auto it = client->jku.find(routing.jku);
      if (it == client->jku.end()) return absl::UnauthenticatedError("jku not allowed");
      verifier = it->second.get();
    } else {
      verifier = client->verifier.get();
      if (verifier == nullptr) return absl::UnauthenticatedError("jku required");
    }
    ASSIGN_OR_RETURN(identity::Caller caller, verifier->Verify(token));
    // The verifier accepts every endpoint of this service; the token must be for this one.
    const std::string discovery = absl::StrCat(options_.base_url, "/cds-services");
    const std::string endpoint = absl::StrCat(discovery, "/", def.id);
    bool for_us = false;
    for (const std::string& aud : caller.audiences) {
      for_us = for_us || aud == discovery || aud == endpoint || aud == endpoint + "/feedback";
    }
    if (!for_us) return absl::UnauthenticatedError("wrong audience");
    const absl::Time now = clock_.Now();
    if (caller.expiry > now + options_.max_token_lifetime + options_.leeway) {
      return absl::UnauthenticatedError("token lifetime too long");
    }
    if (caller.token_id.empty()) return absl::UnauthenticatedError("missing jti");
    // A token is good for one call (CDS Hooks: `jti` protects against replay). Ids are kept
    // until remembered_token_ids newer ones push them out; at the default that is longer than
    // a token lives (max_token_lifetime) unless calls come faster than ~300 a second.
    if (!token_ids_.Insert(absl::StrCat(caller.issuer, "\n", caller.token_id), true)) {
      return absl::UnauthenticatedError("token replayed");
    }
    return caller;
  }

  HttpReply CallInner(const std::string& service_id, absl::string_view authorization,
                      absl::string_view body, size_t* card_count) {
    const ServiceDef* def = FindService(service_id);
    if (def == nullptr) return Error(404, "unknown CDS service");
    const std::string action = Action(service_id);
    absl::StatusOr<identity::Caller> client = Authenticate(*def, authorization);
    if (!client.ok()) return Refuse(action, client.status());
    if (body.size() > options_.max_body_bytes) {
      return Refuse(action, absl::ResourceExhaustedError(absl::StrCat(
                                "the body is larger than ", options_.max_body_bytes, " bytes")));
    }
    absl::StatusOr<HookRequest> request = ParseHookRequest(*def, body);
    if (!request.ok()) return Refuse(action, request.status());

    absl::StatusOr<std::vector<Card>> cards = CardsFor(*request);
    // The call itself is on record, as a read by the user on the patient (the use cases have
    // audited every record read for it).
    audit_.AuditLater(store::AuditRecord{clock_.Now(), request->user, action, request->patient, "",
                                         static_cast<int>(cards.status().code()),
                                         request->hook_instance});
    if (!cards.ok()) {
      return Error(HttpStatusOf(cards.status()),
                   cards.status().code() == absl::StatusCode::kUnavailable
                       ? "the store is unavailable; try again"
                       : "internal error");
    }
    Json out = Json::array();
    for (const Card& card : *cards) out.push_back(CardJson(card, request->user));
    *card_count = cards->size();
    return {200, Dump(Json{{"cards", std::move(out)}}), ""};
  }

  // Every page of a List… use case: `fetch(request)` gives one page, `items(page)` its records.
  template <typename Record, typename Request, typename Fetch, typename Items>
  static absl::StatusOr<std::vector<Record>> ListAll(Request request, Fetch&& fetch,
                                                     Items&& items) {
    std::vector<Record> out;
    request.set_page_size(200);
    while (true) {
      ASSIGN_OR_RETURN(const auto response, fetch(request));
      const auto& page = items(response);
      out.insert(out.end(), page.begin(), page.end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return out;
  }

  // The cards of every episode in which the user and the patient (as a client) take part.
  absl::StatusOr<std::vector<Card>> CardsFor(const HookRequest& request) {
    std::vector<v1::Episode> episodes;
    {
      ASSIGN_OR_RETURN(
          std::vector<v1::Episode> all,
          ListAll<v1::Episode>(
              v1::ListEpisodesRequest(),
              [&](const auto& r) { return service_.ListEpisodes(request.user, r); },
              [](const v1::ListEpisodesResponse& r) -> const auto& { return r.episodes(); }));
      for (v1::Episode& episode : all) {
        for (const v1::Participant& p : episode.participants()) {
          if (p.person() == request.patient && p.role() == v1::Participant::CLIENT) {
            episodes.push_back(std::move(episode));
            break;
          }
        }
      }
    }
    // Most recently changed first, so the cap keeps the episodes that matter now.
    std::stable_sort(episodes.begin(), episodes.end(),
                     [](const v1::Episode& a, const v1::Episode& b) {
                       const auto& ta = a.meta().update_time();
                       const auto& tb = b.meta().update_time();
                       return std::make_pair(ta.seconds(), ta.nanos()) >
                              std::make_pair(tb.seconds(), tb.nanos());
                     });
    if (episodes.size() > options_.max_episodes) episodes.resize(options_.max_episodes);

    const absl::Time now = clock_.Now();
    std::vector<Card> cards;
    for (v1::Episode& episode : episodes) {
      absl::StatusOr<EpisodeRecords> records = Load(request.user, std::move(episode));
      // An episode the user left between the list and the reads is simply not theirs now.
      if (absl::IsNotFound(records.status())) continue;
      if (!records.ok()) return records.status();
      std::vector<Card> more = MakeCards(request.user, *records, options_.rules, now);
      cards.insert(cards.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
    }
    std::stable_sort(cards.begin(), cards.end(), [](const Card& a, const Card& b) {
      return static_cast<int>(a.indicator) > static_cast<int>(b.indicator);
    });
    if (cards.size() > options_.max_cards) cards.resize(options_.max_cards);
    return cards;
  }

  absl::StatusOr<EpisodeRecords> Load(const std::string& user, v1::Episode episode) {
    EpisodeRecords records;
    const std::string name = episode.name();
    records.episode = std::move(episode);
    v1::ListGoalsRequest goals;
    goals.set_parent(name);
    ASSIGN_OR_RETURN(records.goals,
                     ListAll<v1::Goal>(
                         goals, [&](const auto& r) { return service_.ListGoals(user, r); },
                         [](const v1::ListGoalsResponse& r) -> const auto& { return r.goals(); }));
    v1::ListHypothesesRequest hypotheses;
    hypotheses.set_parent(name);
    ASSIGN_OR_RETURN(
        records.hypotheses,
        ListAll<v1::Hypothesis>(
            hypotheses, [&](const auto& r) { return service_.ListHypotheses(user, r); },
            [](const v1::ListHypothesesResponse& r) -> const auto& { return r.hypotheses(); }));
    v1::ListReviewsRequest reviews;
    reviews.set_parent(name);
    ASSIGN_OR_RETURN(
        records.reviews,
        ListAll<v1::Review>(
            reviews, [&](const auto& r) { return service_.ListReviews(user, r); },
            [](const v1::ListReviewsResponse& r) -> const auto& { return r.reviews(); }));
    v1::GetProgressRequest progress;
    progress.set_episode(name);
    ASSIGN_OR_RETURN(records.progress, service_.GetProgress(user, progress));
    return records;
  }

  Json CardJson(const Card& card, const std::string& user) {
    const std::string uuid = uuids_.NewUuid();
    issued_.Insert(uuid, IssuedCard{user, EpisodeIdOf(card.episode), card.record});
    Json topic = {{"code", CardKindCode(card.kind)}, {"display", CardKindDisplay(card.kind)}};
    if (!options_.topic_system.empty()) topic["system"] = options_.topic_system;
    Json source = {{"label", "collabcare"}, {"topic", std::move(topic)}};
    if (!options_.source_url.empty()) source["url"] = options_.source_url;
    return Json{{"uuid", uuid},
                {"summary", card.summary},
                {"detail", card.detail},
                {"indicator", IndicatorName(card.indicator)},
                {"source", std::move(source)},
                {"links", Json::array({Json{{"label", "Open in collabcare"},
                                            {"url", options_.app_launch_url},
                                            {"type", "smart"},
                                            {"appContext", card.episode}}})}};
  }

  HttpReply FeedbackInner(const std::string& service_id, absl::string_view authorization,
                          absl::string_view body, size_t* item_count) {
    const ServiceDef* def = FindService(service_id);
    if (def == nullptr) return Error(404, "unknown CDS service");
    const std::string action = Action(service_id, "/feedback");
    absl::StatusOr<identity::Caller> client = Authenticate(*def, authorization);
    if (!client.ok()) return Refuse(action, client.status());
    if (body.size() > options_.max_body_bytes) {
      return Refuse(action, absl::ResourceExhaustedError(absl::StrCat(
                                "the body is larger than ", options_.max_body_bytes, " bytes")));
    }
    absl::StatusOr<std::vector<FeedbackItem>> items =
        ParseFeedback(body, options_.max_feedback_items);
    if (!items.ok()) return Refuse(action, items.status());
    for (const FeedbackItem& item : *items) {
      // Who saw the card and what it was about, when this process issued it; a card from
      // another replica or from before a restart is recorded by its uuid alone.
      const std::optional<IssuedCard> issued = issued_.Find(item.card);
      store::AuditRecord record{clock_.Now(),
                                issued.has_value() ? issued->user : "anonymous",
                                absl::StrCat(action, ":", item.outcome),
                                issued.has_value() ? issued->record : "",
                                issued.has_value() ? issued->episode_id : "",
                                0,
                                item.card};
      if (absl::Status audited = audit_.Audit(record); !audited.ok()) {
        return Error(503, "the audit log is unavailable; try again");
      }
    }
    *item_count = items->size();
    return {200, "", ""};
  }

  service::CollabService& service_;
  store::Store& audit_;
  const Clock& clock_;
  UuidSource& uuids_;
  const CdsOptions options_;
  BoundedMap<IssuedCard> issued_;
  BoundedMap<bool> token_ids_;
};

}  // namespace

std::vector<std::string> AcceptedAudiences(const std::string& base_url) {
  const std::string discovery = absl::StrCat(base_url, "/cds-services");
  std::vector<std::string> out = {discovery};
  for (const ServiceDef& def : kServices) {
    out.push_back(absl::StrCat(discovery, "/", def.id));
    out.push_back(absl::StrCat(discovery, "/", def.id, "/feedback"));
  }
  return out;
}

identity::VerifierOptions VerifierOptionsFor(const CdsOptions& options, const std::string& issuer,
                                             const Clock& clock) {
  identity::VerifierOptions verifier;
  std::vector<std::string> audiences = AcceptedAudiences(options.base_url);
  verifier.issuer = issuer;
  verifier.audience = audiences.front();
  verifier.extra_audiences.assign(audiences.begin() + 1, audiences.end());
  verifier.leeway = options.leeway;
  verifier.clock = &clock;
  verifier.require_fhir_user = false;
  verifier.require_jti = true;
  return verifier;
}

std::unique_ptr<UuidSource> NewRandomUuidSource() { return std::make_unique<RandomUuidSource>(); }

absl::StatusOr<std::unique_ptr<CdsHooksService>> NewCdsHooksService(service::CollabService& service,
                                                                    store::Store& audit,
                                                                    const Clock& clock,
                                                                    UuidSource& uuids,
                                                                    CdsOptions options) {
  while (absl::EndsWith(options.base_url, "/")) options.base_url.pop_back();
  if (!IsHttpUrl(options.base_url)) {
    return absl::InvalidArgumentError("options.base_url must be an absolute http(s) URL");
  }
  if (!IsHttpUrl(options.app_launch_url)) {
    return absl::InvalidArgumentError("options.app_launch_url must be an absolute http(s) URL");
  }
  if (options.clients.empty()) return absl::InvalidArgumentError("options.clients is empty");
  for (size_t i = 0; i < options.clients.size(); ++i) {
    const TrustedClient& client = options.clients[i];
    const std::string where = absl::StrCat("options.clients[", i, "]");
    if (client.issuer.empty()) return absl::InvalidArgumentError(where + ".issuer is empty");
    for (size_t j = 0; j < i; ++j) {
      if (options.clients[j].issuer == client.issuer) {
        return absl::InvalidArgumentError(where + ".issuer is a duplicate");
      }
    }
    if (client.verifier == nullptr && client.jku.empty()) {
      return absl::InvalidArgumentError(where + " has neither a verifier nor an allowed jku");
    }
    for (const auto& [url, verifier] : client.jku) {
      if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
        return absl::InvalidArgumentError(where + ".jku holds a URL that is not http(s)");
      }
      if (verifier == nullptr) return absl::InvalidArgumentError(where + ".jku holds no verifier");
    }
  }
  if (options.max_token_lifetime <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("options.max_token_lifetime must be positive");
  }
  if (options.max_cards == 0 || options.max_episodes == 0) {
    return absl::InvalidArgumentError("options.max_cards and options.max_episodes must be > 0");
  }
  return std::make_unique<CdsHooksServiceImpl>(service, audit, clock, uuids, std::move(options));
}

}  // namespace collabcare::cds
