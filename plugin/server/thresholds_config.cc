// Loads an operator's replacement for the built-in threshold table from a JSON file.
#include "plugin/server/thresholds_config.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace collabcare::server {
namespace {

using nlohmann::json;

absl::Status PathError(const std::string& path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("thresholds ", path, ": ", problem));
}

absl::Status ReadNumber(const json& object, const char* key, const std::string& path, double& out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_number()) return PathError(absl::StrCat(path, ".", key), "must be a number");
  out = object[key].get<double>();
  return absl::OkStatus();
}

absl::Status ReadOptional(const json& object, const char* key, const std::string& path,
                          std::optional<double>& out) {
  if (!object.contains(key) || object[key].is_null()) return absl::OkStatus();
  double value = 0;
  if (absl::Status s = ReadNumber(object, key, path, value); !s.ok()) return s;
  out = value;
  return absl::OkStatus();
}

absl::Status ReadString(const json& object, const char* key, const std::string& path,
                        std::string& out) {
  if (!object.contains(key)) return absl::OkStatus();
  if (!object[key].is_string()) return PathError(absl::StrCat(path, ".", key), "must be a string");
  out = object[key].get<std::string>();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<domain::ThresholdTable> ParseThresholdTable(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return PathError("$", "is not a JSON object");
  domain::ThresholdTable table = domain::DefaultThresholds();
  absl::Status s;
  if (!(s = ReadNumber(doc, "goal_reliable_change", "$", table.goal_reliable_change)).ok() ||
      !(s = ReadString(doc, "goal_reliable_change_source", "$", table.goal_reliable_change_source))
           .ok() ||
      !(s = ReadNumber(doc, "goal_divergence", "$", table.goal_divergence)).ok() ||
      !(s = ReadString(doc, "goal_divergence_source", "$", table.goal_divergence_source)).ok() ||
      !(s = ReadString(doc, "not_on_track_source", "$", table.not_on_track_source)).ok()) {
    return s;
  }
  if (doc.contains("not_on_track_reviews")) {
    if (!doc["not_on_track_reviews"].is_number_integer() ||
        doc["not_on_track_reviews"].get<int>() < 2) {
      return PathError("$.not_on_track_reviews", "must be an integer of at least 2");
    }
    table.not_on_track_reviews = doc["not_on_track_reviews"].get<int>();
  }
  if (doc.contains("instruments")) {
    if (!doc["instruments"].is_array()) return PathError("$.instruments", "must be an array");
    table.instruments.clear();
    for (size_t i = 0; i < doc["instruments"].size(); ++i) {
      const json& item = doc["instruments"][i];
      const std::string path = absl::StrCat("$.instruments[", i, "]");
      if (!item.is_object()) return PathError(path, "must be an object");
      domain::InstrumentDef def;
      double min_items = 1, max_items = 1;
      std::string scoring = "sum";
      if (!(s = ReadString(item, "id", path, def.id)).ok() ||
          !(s = ReadNumber(item, "min_items", path, min_items)).ok() ||
          !(s = ReadNumber(item, "max_items", path, max_items)).ok() ||
          !(s = ReadNumber(item, "item_min", path, def.item_min)).ok() ||
          !(s = ReadNumber(item, "item_max", path, def.item_max)).ok() ||
          !(s = ReadString(item, "scoring", path, scoring)).ok() ||
          !(s = ReadOptional(item, "clinical_cutoff", path, def.clinical_cutoff)).ok() ||
          !(s = ReadOptional(item, "reliable_change", path, def.reliable_change)).ok() ||
          !(s = ReadOptional(item, "alliance_cutoff", path, def.alliance_cutoff)).ok() ||
          !(s = ReadOptional(item, "alliance_drop", path, def.alliance_drop)).ok() ||
          !(s = ReadString(item, "source", path, def.source)).ok()) {
        return s;
      }
      if (item.contains("client_side_only")) {
        if (!item["client_side_only"].is_boolean()) {
          return PathError(path + ".client_side_only", "must be true or false");
        }
        def.client_side_only = item["client_side_only"].get<bool>();
      }
      if (def.id.empty()) return PathError(path + ".id", "is required");
      if (def.source.empty()) return PathError(path + ".source", "is required: cite the source");
      if (scoring != "sum" && scoring != "mean") {
        return PathError(path + ".scoring", "must be \"sum\" or \"mean\"");
      }
      def.scoring = scoring == "sum" ? domain::Scoring::kSum : domain::Scoring::kMean;
      def.min_items = static_cast<int>(min_items);
      def.max_items = static_cast<int>(max_items);
      if (def.min_items < 1 || def.max_items < def.min_items || def.max_items > 200) {
        return PathError(path, "needs 1 <= min_items <= max_items <= 200");
      }
      if (!(def.item_min < def.item_max)) return PathError(path, "needs item_min < item_max");
      if (table.Find(def.id) != nullptr) return PathError(path + ".id", "appears twice");
      table.instruments.push_back(std::move(def));
    }
  }
  return table;
}

std::string ThresholdTableToJson(const domain::ThresholdTable& table) {
  json doc;
  doc["goal_reliable_change"] = table.goal_reliable_change;
  doc["goal_reliable_change_source"] = table.goal_reliable_change_source;
  doc["goal_divergence"] = table.goal_divergence;
  doc["goal_divergence_source"] = table.goal_divergence_source;
  doc["not_on_track_reviews"] = table.not_on_track_reviews;
  doc["not_on_track_source"] = table.not_on_track_source;
  doc["instruments"] = json::array();
  for (const domain::InstrumentDef& def : table.instruments) {
    json item;
    item["id"] = def.id;
    item["min_items"] = def.min_items;
    item["max_items"] = def.max_items;
    item["item_min"] = def.item_min;
    item["item_max"] = def.item_max;
    item["scoring"] = def.scoring == domain::Scoring::kSum ? "sum" : "mean";
    auto optional = [&](const char* key, const std::optional<double>& v) {
      item[key] = v ? json(*v) : json(nullptr);
    };
    optional("clinical_cutoff", def.clinical_cutoff);
    optional("reliable_change", def.reliable_change);
    optional("alliance_cutoff", def.alliance_cutoff);
    optional("alliance_drop", def.alliance_drop);
    item["source"] = def.source;
    item["client_side_only"] = def.client_side_only;
    doc["instruments"].push_back(std::move(item));
  }
  return doc.dump(2) + "\n";
}

}  // namespace collabcare::server
