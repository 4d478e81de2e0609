// collabctl: walk a collaborative care session from the command line (see `collabctl help`).
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "plugin/cli/client.h"
#include "plugin/cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::Status status = collabcare::cli::Run(args, std::cout, std::cerr);
  std::cout.flush();
  if (status.ok()) return 0;
  std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  // Usage errors are caught before any call; everything else (the server's answer, a missing
  // development key, an unreadable file) is exit status 1.
  if (status.code() == absl::StatusCode::kInvalidArgument && !collabcare::cli::IsRpcError(status)) {
    std::cerr << "(`collabctl help` lists the commands and options)\n";
    return 2;
  }
  return 1;
}
