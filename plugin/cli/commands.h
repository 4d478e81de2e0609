// collabctl's commands: the table of commands, their options and what each one calls.
#ifndef COLLABCARE_PLUGIN_CLI_COMMANDS_H_
#define COLLABCARE_PLUGIN_CLI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace collabcare::cli {

// Runs the command line (without the program name), writing results to `out` and notes to
// `err`. Usage errors are INVALID_ARGUMENT without IsRpcError(); a failed call returns the
// server's status with IsRpcError() true.
absl::Status Run(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err);

// The usage text listing every command and option.
std::string UsageText();

}  // namespace collabcare::cli

#endif  // COLLABCARE_PLUGIN_CLI_COMMANDS_H_
