// Loads an operator's replacement for the built-in threshold table from a JSON file.
#ifndef COLLABCARE_PLUGIN_SERVER_THRESHOLDS_CONFIG_H_
#define COLLABCARE_PLUGIN_SERVER_THRESHOLDS_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "plugin/domain/thresholds.h"

namespace collabcare::server {

// Parses a table such as deploy/thresholds.example.json. Missing table-wide keys keep their
// built-in values; `instruments`, when present, replaces the built-in list. INVALID_ARGUMENT
// names the JSON path of the first problem.
absl::StatusOr<domain::ThresholdTable> ParseThresholdTable(const std::string& json);

// The table as JSON in the form ParseThresholdTable reads (for `--print_thresholds`).
std::string ThresholdTableToJson(const domain::ThresholdTable& table);

}  // namespace collabcare::server

#endif  // COLLABCARE_PLUGIN_SERVER_THRESHOLDS_CONFIG_H_
