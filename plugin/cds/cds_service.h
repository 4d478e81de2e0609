// The CDS Hooks 2.0 service: discovery, the `patient-view` and `encounter-start` services that
// answer with cards (cards.h) built from the use cases as the EHR's user, and the feedback
// endpoint. Transport-neutral: cds_routes.h puts it on an httplib::Server.
#ifndef COLLABCARE_PLUGIN_CDS_CDS_SERVICE_H_
#define COLLABCARE_PLUGIN_CDS_CDS_SERVICE_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "plugin/cds/cards.h"
#include "plugin/common/clock.h"
#include "plugin/identity/identity.h"
#include "plugin/service/collab_service.h"
#include "plugin/store/store.h"

namespace collabcare::cds {

// Service ids (the last path segment of each service's endpoint) and their hooks.
inline constexpr char kPatientViewId[] = "collabcare-patient-view";
inline constexpr char kEncounterStartId[] = "collabcare-encounter-start";

// A CDS client (an EHR) whose signed calls the service accepts.
//
// CDS Hooks 2.0 ("Trusting CDS Clients"): the client signs a JWT for every call with a key of
// its JWK Set; the JWKS is exchanged out of band, or named by the token's `jku` header, which a
// service follows only for URLs on its allow-list.
struct TrustedClient {
  std::string issuer;  // the `iss` of its JWTs
  // Verifies this client's tokens that carry no `jku` (a JWKS file or a configured JWKS URL).
  // May be null when the client always names a `jku`.
  std::shared_ptr<identity::TokenVerifier> verifier;
  // The allow-list: `jku` URL -> a verifier over the JWKS published there. A token naming any
  // other `jku` is refused.
  std::map<std::string, std::shared_ptr<identity::TokenVerifier>> jku;
};

struct CdsOptions {
  // Where `/cds-services` is served, as the EHR calls it: `https://apps.example.org/collabcare`
  // (no trailing slash). Service endpoints are `{base_url}/cds-services/{id}`; a token's `aud`
  // must name the called endpoint (or the discovery URL `{base_url}/cds-services`, which some
  // clients send).
  std::string base_url;
  // The SMART app's launch URL, the `url` of every card's link (type `smart`; its
  // `appContext` is the episode's name, e.g. `episodes/abc`).
  std::string app_launch_url;
  // Optional `source.url` on every card (e.g. a page about collabcare for clinicians).
  std::string source_url;
  // Optional `source.topic.system`: the code system of the card-kind codes (cards.h).
  std::string topic_system;
  std::vector<TrustedClient> clients;
  // CDS Hooks 2.0: `exp` is "no more than 5 minutes in the future".
  absl::Duration max_token_lifetime = absl::Minutes(5);
  absl::Duration leeway = absl::Seconds(60);  // clock skew allowed on that bound
  size_t max_body_bytes = 256 * 1024;         // a hook request (prefetch included)
  size_t max_feedback_items = 100;
  // The user's episodes with the patient that are turned into cards (most recent first).
  size_t max_episodes = 20;
  size_t max_cards = 20;  // per call, most urgent first
  CardRules rules;
  // Issued card uuids remembered for feedback (uuid -> episode, record, user), and token ids
  // remembered against replay until they expire. Oldest entries go first when full.
  size_t remembered_cards = 100000;
  size_t remembered_token_ids = 100000;
};

// The audiences a trusted client's tokens may name: the discovery URL and each endpoint (the
// service URLs and their `/feedback`). CdsHooksService then checks per call that the token
// names the endpoint called (or the discovery URL).
std::vector<std::string> AcceptedAudiences(const std::string& base_url);

// The VerifierOptions a trusted client's verifier must be built with (main fills in
// `jwks_json` or hands them to a remote JWKS verifier): the issuer, every accepted audience,
// `jti` required, `fhirUser` not required (a CDS client signs for the EHR; the user comes from
// the hook's `context.userId`).
identity::VerifierOptions VerifierOptionsFor(const CdsOptions& options, const std::string& issuer,
                                             const Clock& clock);

// Makes the random (version 4) UUIDs of cards. Thread-safe.
class UuidSource {
 public:
  virtual ~UuidSource() = default;
  virtual std::string NewUuid() = 0;
};
// UUIDs from OpenSSL's RAND_bytes.
std::unique_ptr<UuidSource> NewRandomUuidSource();

// An HTTP answer: status and JSON body (empty for 200 on feedback).
struct HttpReply {
  int status = 200;
  std::string body;
  // Why a call was refused, for the log line (the service's own words, never a request's
  // values); empty on success.
  std::string reason;
};

// Thread-safe; Call and Feedback block on the store, so run them on a worker thread (httplib's
// pool), never on a gRPC callback thread.
//
// Answers: 200 with `{"cards": [...]}` (possibly empty); 401 for a missing, malformed, expired,
// too long-lived, replayed or unverifiable token, an untrusted issuer or `jku`, or a token for
// another endpoint; 413 for a body over max_body_bytes; 400 for a malformed hook request,
// naming the field (`context.userId` …) and never echoing values; 404 for an unknown service
// id; 503 when the store is unavailable, 500 otherwise. Every answer is logged as one line
// (service id, status, card count, latency) and every call audited: refusals through
// CollabService::AuditRefusal, answered calls as reads of the user (the use cases audit each
// record read), feedback as one audit record per item (who saw the card, which record, the
// outcome; never the override comment).
class CdsHooksService {
 public:
  CdsHooksService() = default;
  CdsHooksService(const CdsHooksService&) = delete;
  CdsHooksService& operator=(const CdsHooksService&) = delete;
  virtual ~CdsHooksService() = default;

  // GET /cds-services.
  virtual HttpReply Discovery() const = 0;
  // POST /cds-services/{id}. `authorization` is the Authorization header ("Bearer <JWT>").
  virtual HttpReply Call(const std::string& service_id, absl::string_view authorization,
                         absl::string_view body) = 0;
  // POST /cds-services/{id}/feedback.
  virtual HttpReply Feedback(const std::string& service_id, absl::string_view authorization,
                             absl::string_view body) = 0;
};

// Collaborators are not owned and must outlive the service. INVALID_ARGUMENT naming the option
// when base_url or app_launch_url is not an absolute http(s) URL, no client is trusted, an
// issuer is empty or repeated, or a client has no verifier at all.
absl::StatusOr<std::unique_ptr<CdsHooksService>> NewCdsHooksService(service::CollabService& service,
                                                                    store::Store& audit,
                                                                    const Clock& clock,
                                                                    UuidSource& uuids,
                                                                    CdsOptions options);

}  // namespace collabcare::cds

#endif  // COLLABCARE_PLUGIN_CDS_CDS_SERVICE_H_
