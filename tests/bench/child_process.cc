// Child processes and temporary folders for collabcare_bench.
#include "tests/bench/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace collabcare::bench {
namespace {

// How often the port file and the child's state are polled while waiting.
constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

// The port number if `path` holds a complete line "<port>\n"; servers may be caught writing.
bool ReadPort(const std::string& path, int* port) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  if (text.empty() || text.back() != '\n') return false;
  return absl::SimpleAtoi(absl::string_view(text).substr(0, text.size() - 1), port) && *port > 0;
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("signal ", WTERMSIG(wait_status));
  return "unknown state";
}

}  // namespace

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Create(const std::string& base) {
  std::string pattern = absl::StrCat(base, "/collabcare-bench-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    return absl::UnavailableError(absl::StrCat("mkdtemp under ", base, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<TempDir>(new TempDir(pattern));
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& binary, const std::vector<std::string>& args, const std::string& port_file,
    const std::string& log_file, absl::Duration startup_timeout) {
  if (::access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat(binary, ": not an executable file"));
  }
  // Everything the child needs is prepared before fork: after it, the child may only call
  // async-signal-safe functions.
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return absl::UnavailableError(absl::StrCat(log_file, ": ", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return absl::UnavailableError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(126);  // the benchmark died before prctl
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);

  std::unique_ptr<ChildProcess> child(new ChildProcess(pid, log_file));
  const absl::Time deadline = absl::Now() + startup_timeout;
  while (!ReadPort(port_file, &child->port_)) {
    int wait_status = 0;
    if (::waitpid(pid, &wait_status, WNOHANG) == pid) {
      child->stopped_ = true;
      return absl::UnavailableError(absl::StrCat(binary, " exited before serving (",
                                                 DescribeExit(wait_status), "); see ", log_file));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(binary, " wrote no port file within ",
                                                      absl::FormatDuration(startup_timeout),
                                                      "; see ", log_file));
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(kPollInterval));
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (!stopped_) Stop().IgnoreError();
}

absl::StatusOr<absl::Duration> ChildProcess::CpuTime() const {
  const std::string path = absl::StrCat("/proc/", pid_, "/stat");
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string stat = buffer.str();
  // The command name (field 2) may hold spaces; fields after it start past the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return absl::UnavailableError(absl::StrCat("cannot read ", path));
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ');
  // Fields 14 (utime) and 15 (stime) of proc(5), counted from field 3 (state) at index 0.
  int64_t utime = 0;
  int64_t stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::UnavailableError(absl::StrCat("cannot parse ", path));
  }
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return absl::Seconds(static_cast<double>(utime + stime) / ticks);
}

absl::Status ChildProcess::Stop(absl::Duration grace) {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  ::kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  int wait_status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid_, &wait_status, WNOHANG);
    if (done == pid_) break;
    if (done < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid: ", std::strerror(errno)));
    }
    if (absl::Now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &wait_status, 0);
      return absl::DeadlineExceededError(absl::StrCat("pid ", pid_, " ignored SIGTERM for ",
                                                      absl::FormatDuration(grace), "; killed"));
    }
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(kPollInterval));
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return absl::InternalError(
        absl::StrCat("pid ", pid_, " ended with ", DescribeExit(wait_status), "; see ", log_file_));
  }
  return absl::OkStatus();
}

absl::Duration SelfCpuTime() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return absl::DurationFromTimeval(usage.ru_utime) + absl::DurationFromTimeval(usage.ru_stime);
}

}  // namespace collabcare::bench
