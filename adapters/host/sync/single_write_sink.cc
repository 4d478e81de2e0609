// Profiles epic and oracle-health: one plain create or If-Match update at a time, with the
// host's ids kept in the store so that a retry never creates a second copy (see host_sink.h).
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/bundle.h"
#include "adapters/host/status_map.h"
#include "adapters/host/sync/host_sink.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

class SingleWriteSink final : public HostSink {
 public:
  SingleWriteSink(SingleWriteSinkOptions options, FhirClient* client, store::Store* store,
                  const Clock* clock)
      : options_(std::move(options)), client_(client), store_(store), clock_(clock) {}

  SinkContent content() const override { return SinkContent::kNotesAndConditions; }
  bool concurrent() const override { return true; }

  absl::Status Push(const store::OutboxEntry& entry,
                    const std::vector<fhir::FhirResource>& resources) override {
    for (const fhir::FhirResource& r : resources) {
      if (std::find(options_.types.begin(), options_.types.end(), r.type) == options_.types.end()) {
        continue;
      }
      RETURN_IF_ERROR(Write(r));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Write(const fhir::FhirResource& r) {
    nlohmann::json body = nlohmann::json::parse(r.json, nullptr, false);
    if (!body.is_object()) return absl::InvalidArgumentError("single-write: resource not JSON");
    ASSIGN_OR_RETURN(std::optional<store::RemoteRef> ref, store_->GetRemote(options_.host, r.key));
    if (ref.has_value() && ref->remote_id.empty()) {
      // Pending: an earlier create may have reached the host before a crash or a lost answer.
      // Provenance is found by its tag (fhir/bundle.h), everything else by its identifier.
      ASSIGN_OR_RETURN(
          SearchResult found,
          client_->Search(
              r.type,
              {r.key_is_tag
                   ? std::pair<std::string, std::string>{"_tag",
                                                         absl::StrCat("urn:ietf:rfc:3986|",
                                                                      fhir::UuidForKey(
                                                                          options_.urls, r.key))}
                   : std::pair<std::string, std::string>{"identifier",
                                                         absl::StrCat(options_
                                                                          .urls.record_identifier,
                                                                      "|", r.key)}},
              1));
      const nlohmann::json& entries = found.bundle["entry"];
      if (entries.is_array() && !entries.empty() && entries[0]["resource"].is_object()) {
        const nlohmann::json& existing = entries[0]["resource"];
        ref->remote_id = existing.value("id", "");
        ref->version = existing.contains("meta") && existing["meta"].is_object()
                           ? existing["meta"].value("versionId", "")
                           : "";
        if (ref->remote_id.empty()) return absl::InternalError("host sent a match without id");
        ref->time = clock_->Now();
        RETURN_IF_ERROR(store_->PutRemote(*ref));
      }
    }
    if (ref.has_value() && !ref->remote_id.empty()) return Update(std::move(body), *ref);

    store::RemoteRef pending;
    pending.host = options_.host;
    pending.key = r.key;
    pending.resource_type = r.type;
    pending.time = clock_->Now();
    if (!ref.has_value()) RETURN_IF_ERROR(store_->PutRemote(pending));
    ASSIGN_OR_RETURN(FhirResult created, client_->Create(body));
    if (created.id.empty()) return absl::InternalError("host sent no id for a create");
    pending.remote_id = created.id;
    pending.version = created.version_id;
    pending.time = clock_->Now();
    return store_->PutRemote(pending);
  }

  absl::Status Update(nlohmann::json body, store::RemoteRef ref) {
    body["id"] = ref.remote_id;
    absl::StatusOr<FhirResult> updated = client_->Update(body, ref.version);
    if (!updated.ok()) {
      if (HttpStatusOf(updated.status()) == 412) {
        // Changed in the EHR since collabcare's last write: learn its version so that the
        // retry (ABORTED is retried) writes collabcare's revision over it.
        ASSIGN_OR_RETURN(FhirResult current, client_->Read(ref.resource_type, ref.remote_id));
        ref.version = current.version_id;
        ref.time = clock_->Now();
        RETURN_IF_ERROR(store_->PutRemote(ref));
      }
      return updated.status();
    }
    ref.version = updated->version_id;
    ref.time = clock_->Now();
    return store_->PutRemote(ref);
  }

  SingleWriteSinkOptions options_;
  FhirClient* const client_;
  store::Store* const store_;
  const Clock* const clock_;
};

}  // namespace

std::unique_ptr<HostSink> NewSingleWriteSink(SingleWriteSinkOptions options, FhirClient* client,
                                             store::Store* store, const Clock* clock) {
  return std::make_unique<SingleWriteSink>(std::move(options), client, store, clock);
}

}  // namespace collabcare::host
