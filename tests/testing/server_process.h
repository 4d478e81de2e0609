// The real collabcare-server binary as a child process for end-to-end tests: spawned with
// the caller's flags on free loopback ports, stderr (the JSON log) appended to a file, killed
// with any signal and restarted on the same data directory.
#ifndef COLLABCARE_TESTS_TESTING_SERVER_PROCESS_H_
#define COLLABCARE_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace collabcare::testutil {

// Polls `done` every 20 ms for at most `limit`; whether it became true. Waits, never asserts.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit);

class ServerProcess {
 public:
  // `binary` is collabcare-server's path; `args` are passed after the ones Start() adds
  // (--data_dir, --listen=127.0.0.1:0 and --port_file).
  ServerProcess(std::string binary, std::string data_dir, std::vector<std::string> args);
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();  // SIGKILL if still running

  // Spawns the server and waits (up to 10 s) until it has written its gRPC port. Call as
  // ASSERT_NO_FATAL_FAILURE(server.Start()).
  void Start();

  // Sends `signal` and reaps the process; its wait status (0 if it was not running).
  int Kill(int signal);

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }  // gRPC, 0 when not running
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& data_dir() const { return data_dir_; }
  std::string log_path() const { return data_dir_ + "/server.log"; }

  // The JSON log lines with event `event` after byte `offset` of the log.
  std::vector<nlohmann::json> LogEvents(std::streamoff offset, const std::string& event) const;
  // The log's current size: an offset for LogEvents.
  std::streamoff LogSize() const;

 private:
  std::string binary_;
  std::string data_dir_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace collabcare::testutil

#endif  // COLLABCARE_TESTS_TESTING_SERVER_PROCESS_H_
