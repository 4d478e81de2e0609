// Structured logs: one JSON object per line on stderr. Callers pass only non-clinical values
// (method names, status codes, resource names, durations); never free text or people's names.
#ifndef COLLABCARE_PLUGIN_COMMON_LOG_H_
#define COLLABCARE_PLUGIN_COMMON_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace collabcare {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// Sets the lowest level written; default kInfo. Thread-safe.
void SetLogLevel(LogLevel level);

// Writes {"ts":…,"level":…,"event":event, key: value…}. Thread-safe; values are JSON-escaped.
void Log(LogLevel level, absl::string_view event,
         std::initializer_list<std::pair<absl::string_view, std::string>> fields = {});

}  // namespace collabcare

#endif  // COLLABCARE_PLUGIN_COMMON_LOG_H_
