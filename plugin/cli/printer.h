// collabctl's output: records for a clinician at a terminal, the proto3 JSON mapping for
// scripts (--json), or only resource names (-q).
#ifndef COLLABCARE_PLUGIN_CLI_PRINTER_H_
#define COLLABCARE_PLUGIN_CLI_PRINTER_H_

#include <ostream>

#include "absl/status/status.h"
#include "collabcare/v1/resources.pb.h"
#include "google/protobuf/message.h"

namespace collabcare::cli {

enum class OutputMode { kHuman, kJson, kQuiet };

// Writes responses to a stream. Text written by people (goals, reflections, …) has its
// control characters replaced so that nobody's words can drive another person's terminal.
class Printer {
 public:
  Printer(std::ostream& out, OutputMode mode) : out_(out), mode_(mode) {}

  // One response: a record (Episode, Goal, Hypothesis, Review), a Progress, or a List…
  // response (one block per record; in quiet mode one name per line). INTERNAL if the JSON
  // mapping fails.
  absl::Status Print(const google::protobuf::Message& message);

  // One event on one line (compact JSON with --json), flushed at once.
  absl::Status PrintEvent(const v1::EpisodeEvent& event);

 private:
  absl::Status PrintJson(const google::protobuf::Message& message, bool pretty);
  // The record's human rendering; false for messages that are not records.
  bool PrintRecord(const google::protobuf::Message& message);

  std::ostream& out_;
  OutputMode mode_;
};

}  // namespace collabcare::cli

#endif  // COLLABCARE_PLUGIN_CLI_PRINTER_H_
