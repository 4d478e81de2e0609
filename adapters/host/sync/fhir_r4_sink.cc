// Profile fhir-r4: each change as transaction Bundles of conditional writes (see host_sink.h).
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapters/fhir/bundle.h"
#include "adapters/host/sync/host_sink.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

class FhirR4Sink final : public HostSink {
 public:
  FhirR4Sink(FhirR4SinkOptions options, FhirClient* client)
      : options_(std::move(options)), client_(client) {
    options_.max_bundle_entries = std::max<size_t>(options_.max_bundle_entries, 1);
  }

  SinkContent content() const override { return SinkContent::kFull; }
  bool concurrent() const override { return true; }

  absl::Status Push(const store::OutboxEntry& entry,
                    const std::vector<fhir::FhirResource>& resources) override {
    // In mapping order, so that a resource referred to by a later chunk already exists when
    // that chunk's conditional reference is resolved.
    for (size_t begin = 0; begin < resources.size(); begin += options_.max_bundle_entries) {
      const size_t end = std::min(resources.size(), begin + options_.max_bundle_entries);
      std::vector<fhir::FhirResource> chunk(resources.begin() + begin, resources.begin() + end);
      ASSIGN_OR_RETURN(std::string text, fhir::TransactionBundle(chunk, options_.urls));
      // Sent as text, byte for byte: a DOM round trip would drop decimals' trailing zeros.
      ASSIGN_OR_RETURN(nlohmann::json response, client_->Transaction(text));
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
