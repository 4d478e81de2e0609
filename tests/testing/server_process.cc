#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include "gtest/gtest.h"

extern char** environ;

namespace collabcare::testutil {

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

ServerProcess::ServerProcess(std::string binary, std::string data_dir,
                             std::vector<std::string> args)
    : binary_(std::move(binary)), data_dir_(std::move(data_dir)), args_(std::move(args)) {}

ServerProcess::~ServerProcess() { Kill(SIGKILL); }

void ServerProcess::Start() {
  const std::string port_file = data_dir_ + "/port";
  std::filesystem::remove(port_file);
  std::vector<std::string> args = {binary_, "--data_dir=" + data_dir_, "--listen=127.0.0.1:0",
                                   "--port_file=" + port_file};
  args.insert(args.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  const int spawned = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ASSERT_EQ(spawned, 0) << "cannot start " << binary_;
  WaitFor(
      [&] {
        std::ifstream in(port_file);
        if (!(in >> port_)) port_ = 0;
        return port_ != 0;
      },
      std::chrono::seconds(10));
  ASSERT_NE(port_, 0) << "server did not start; see " << log_path();
}

int ServerProcess::Kill(int signal) {
  if (pid_ <= 0) return 0;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  port_ = 0;
  return status;
}

std::vector<nlohmann::json> ServerProcess::LogEvents(std::streamoff offset,
                                                     const std::string& event) const {
  std::ifstream in(log_path());
  in.seekg(offset);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == event) out.push_back(std::move(j));
  }
  return out;
}

std::streamoff ServerProcess::LogSize() const {
  std::error_code ec;
  const auto size = std::filesystem::file_size(log_path(), ec);
  return ec ? 0 : static_cast<std::streamoff>(size);
}

}  // namespace collabcare::testutil
