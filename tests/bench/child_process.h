// Servers under benchmark as child processes (fork/exec, port file, SIGTERM), and the fresh
// temporary folder they keep their data in.
#ifndef COLLABCARE_TESTS_BENCH_CHILD_PROCESS_H_
#define COLLABCARE_TESTS_BENCH_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace collabcare::bench {

// A folder made with mkdtemp under `base`; removed on destruction unless Keep() was called.
class TempDir final {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Create(const std::string& base);
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}

  std::string path_;
  bool keep_ = false;
};

// A server started with fork/exec. Its stdout and stderr go to a log file. The child gets
// SIGTERM if the benchmark dies first (PR_SET_PDEATHSIG). Not thread-safe.
class ChildProcess final {
 public:
  // Starts `binary` with `args` (without argv[0]) and waits until it has written a port
  // number followed by a newline to `port_file`. DEADLINE_EXCEEDED if that takes longer than
  // `startup_timeout`; UNAVAILABLE if the child exits first.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::string& binary,
                                                             const std::vector<std::string>& args,
                                                             const std::string& port_file,
                                                             const std::string& log_file,
                                                             absl::Duration startup_timeout);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Stops the child if Stop() was not called.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  const std::string& log_file() const { return log_file_; }

  // CPU time (user + system) the child has used so far, from /proc/<pid>/stat.
  absl::StatusOr<absl::Duration> CpuTime() const;

  // Sends SIGTERM and waits for the child; SIGKILL after `grace`. An error if the child did
  // not exit with status 0 on SIGTERM.
  absl::Status Stop(absl::Duration grace = absl::Seconds(15));

 private:
  ChildProcess(pid_t pid, std::string log_file) : pid_(pid), log_file_(std::move(log_file)) {}

  pid_t pid_;
  int port_ = 0;
  std::string log_file_;
  bool stopped_ = false;
};

// CPU time (user + system) used so far by this process, all threads.
absl::Duration SelfCpuTime();

}  // namespace collabcare::bench

#endif  // COLLABCARE_TESTS_BENCH_CHILD_PROCESS_H_
