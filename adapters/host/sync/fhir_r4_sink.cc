// Profile fhir-r4: each change as transaction Bundles of conditional writes (see host_sink.h).
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/bundle.h"
#include "adapters/host/sync/host_sink.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

// A Provenance or AuditEvent entry's fullUrl is the urn:uuid that is also its meta.tag code
// (bundle.h). Servers that rewrite every string equal to an entry's fullUrl into the new
// resource's reference (Medplum does) then store the tag as "Provenance/<id>", so the
// `ifNoneExist: _tag=…` of a retry matches nothing and creates a second copy. fullUrl is
// optional for a POST: drop it when nothing else in the bundle refers to it.
// TODO(lead): better fixed in adapters/fhir/bundle.cc (a fullUrl distinct from the tag).
void DropTagFullUrls(nlohmann::json& bundle) {
  if (!bundle["entry"].is_array()) return;
  const std::string text = bundle.dump();
  for (nlohmann::json& entry : bundle["entry"]) {
    if (!entry["request"].is_object() || !entry["fullUrl"].is_string()) continue;
    const std::string if_none_exist = entry["request"].value("ifNoneExist", "");
    if (if_none_exist.rfind("_tag=", 0) != 0) continue;
    const std::string quoted = absl::StrCat("\"", entry["fullUrl"].get<std::string>(), "\"");
    // Twice: the fullUrl and the tag code; more means another entry refers to it.
    size_t count = 0;
    for (size_t at = text.find(quoted); at != std::string::npos;
         at = text.find(quoted, at + quoted.size())) {
      ++count;
    }
    if (count <= 2) entry.erase("fullUrl");
  }
}

class FhirR4Sink final : public HostSink {
 public:
  FhirR4Sink(FhirR4SinkOptions options, FhirClient* client)
      : options_(std::move(options)), client_(client) {
    options_.max_bundle_entries = std::max<size_t>(options_.max_bundle_entries, 1);
  }

  SinkContent content() const override { return SinkContent::kFull; }

  absl::Status Push(const store::OutboxEntry& entry,
                    const std::vector<fhir::FhirResource>& resources) override {
    // In mapping order, so that a resource referred to by a later chunk already exists when
    // that chunk's conditional reference is resolved.
    for (size_t begin = 0; begin < resources.size(); begin += options_.max_bundle_entries) {
      const size_t end = std::min(resources.size(), begin + options_.max_bundle_entries);
      std::vector<fhir::FhirResource> chunk(resources.begin() + begin, resources.begin() + end);
      ASSIGN_OR_RETURN(std::string text, fhir::TransactionBundle(chunk, options_.urls));
      // The DOM drops trailing zeros of decimals (1.50 → 1.5); the values stay equal.
      nlohmann::json bundle = nlohmann::json::parse(text, nullptr, false);
      if (bundle.is_discarded()) return absl::InternalError("fhir-r4: bundle is not JSON");
      DropTagFullUrls(bundle);
      ASSIGN_OR_RETURN(nlohmann::json response, client_->Transaction(bundle));
      (void)response;  // a transaction is all-or-nothing: 2xx means every entry succeeded
    }
    return absl::OkStatus();
  }

 private:
  FhirR4SinkOptions options_;
  FhirClient* const client_;
};

}  // namespace

std::unique_ptr<HostSink> NewFhirR4Sink(FhirR4SinkOptions options, FhirClient* client) {
  return std::make_unique<FhirR4Sink>(std::move(options), client);
}

}  // namespace collabcare::host
