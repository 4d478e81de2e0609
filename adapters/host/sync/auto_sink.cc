// Profile auto: chooses per resource type from the host's CapabilityStatement (see host_sink.h).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "adapters/host/sync/host_sink.h"
#include "nlohmann/json.hpp"
#include "plugin/common/log.h"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

constexpr char kNoteType[] = "DocumentReference";

bool HasCode(const nlohmann::json& interactions, const std::string& code) {
  if (!interactions.is_array()) return false;
  return std::any_of(interactions.begin(), interactions.end(), [&](const nlohmann::json& i) {
    return i.is_object() && i.contains("code") && i["code"] == code;
  });
}

// Writes the plan's types one at a time; a record with any other type gets its note instead
// (or, without notes, those resources are counted as skipped).
class PerTypeSink final : public HostSink {
 public:
  PerTypeSink(AutoPlan plan, std::unique_ptr<HostSink> single)
      : plan_(std::move(plan)), single_(std::move(single)) {}

  SinkContent content() const override { return SinkContent::kFullAndNotes; }

  absl::Status Push(const store::OutboxEntry& entry,
                    const std::vector<fhir::FhirResource>& resources) override {
    std::vector<fhir::FhirResource> writes;
    const fhir::FhirResource* note = nullptr;
    int64_t uncovered = 0;
    for (const fhir::FhirResource& r : resources) {
      if (r.type == kNoteType) {
        note = &r;
      } else if (std::find(plan_.single_types.begin(), plan_.single_types.end(), r.type) !=
                 plan_.single_types.end()) {
        writes.push_back(r);
      } else {
        ++uncovered;
      }
    }
    const bool write_note = uncovered > 0 && plan_.notes && note != nullptr;
    if (write_note) writes.insert(writes.begin(), *note);
    RETURN_IF_ERROR(single_->Push(entry, writes));
    if (!write_note) skipped_ += uncovered;
    return absl::OkStatus();
  }

  int64_t skipped() const override { return skipped_.load(); }
  bool concurrent() const override { return single_->concurrent(); }

 private:
  const AutoPlan plan_;
  std::unique_ptr<HostSink> single_;
  std::atomic<int64_t> skipped_{0};
};

}  // namespace

const std::vector<std::string>& FullMappingTypes() {
  static const std::vector<std::string>* const types = new std::vector<std::string>{
      "CarePlan", "CareTeam",    "ClinicalImpression", "Composition",           "Condition",
      "Goal",     "Observation", "Provenance",         "QuestionnaireResponse",
  };
  return *types;
}

absl::StatusOr<AutoPlan> PlanFromCapabilities(const nlohmann::json& capabilities) {
  if (!capabilities.is_object() ||
      capabilities.value("resourceType", "") != "CapabilityStatement" ||
      !capabilities.contains("rest") || !capabilities["rest"].is_array()) {
    return absl::InvalidArgumentError("auto: the host's /metadata is not a CapabilityStatement");
  }
  bool transaction = false;
  std::set<std::string> writable;
  for (const nlohmann::json& rest : capabilities["rest"]) {
    if (!rest.is_object() || rest.value("mode", "") != "server") continue;
    if (rest.contains("interaction") && HasCode(rest["interaction"], "transaction")) {
      transaction = true;
    }
    if (!rest.contains("resource") || !rest["resource"].is_array()) continue;
    for (const nlohmann::json& resource : rest["resource"]) {
      if (!resource.is_object() || !resource.contains("type") || !resource["type"].is_string() ||
          !resource.contains("interaction")) {
        continue;
      }
      if (HasCode(resource["interaction"], "create") &&
          HasCode(resource["interaction"], "update")) {
        writable.insert(resource["type"].get<std::string>());
      }
    }
  }
  AutoPlan plan;
  for (const std::string& type : FullMappingTypes()) {
    if (writable.count(type) != 0) plan.single_types.push_back(type);
  }
  plan.transactions = transaction && plan.single_types.size() == FullMappingTypes().size();
  if (plan.transactions) plan.single_types.clear();
  plan.notes = !plan.transactions && writable.count(kNoteType) != 0;
  return plan;
}

std::vector<std::pair<std::string, std::string>> DescribePlan(const AutoPlan& plan) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& type : FullMappingTypes()) {
    std::string choice = "transaction";
    if (!plan.transactions) {
      const bool single = std::find(plan.single_types.begin(), plan.single_types.end(), type) !=
                          plan.single_types.end();
      choice = single ? "single-write" : plan.notes ? "note" : "skip";
    }
    out.emplace_back(type, std::move(choice));
  }
  out.emplace_back(kNoteType, plan.transactions ? "unused" : plan.notes ? "note" : "skip");
  return out;
}

absl::StatusOr<std::unique_ptr<HostSink>> NewAutoSink(AutoSinkOptions options, FhirClient* client,
                                                      store::Store* store, const Clock* clock) {
  ASSIGN_OR_RETURN(nlohmann::json capabilities, client->Capabilities());
  ASSIGN_OR_RETURN(AutoPlan plan, PlanFromCapabilities(capabilities));
  for (auto& [type, choice] : DescribePlan(plan)) {
    Log(LogLevel::kInfo, "host_auto_plan", {{"type", type}, {"choice", choice}});
  }
  if (plan.transactions) {
    options.fhir_r4.urls = options.urls;
    return NewFhirR4Sink(std::move(options.fhir_r4), client);
  }
  SingleWriteSinkOptions single;
  single.urls = options.urls;
  single.host = options.host;
  single.types = plan.single_types;
  if (plan.notes) single.types.push_back(kNoteType);
  return std::unique_ptr<HostSink>(std::make_unique<PerTypeSink>(
      std::move(plan), NewSingleWriteSink(std::move(single), client, store, clock)));
}

}  // namespace collabcare::host
