// bench_echo_server: a bare gRPC echo server built like collabcare-server (sync API, same
// ServerBuilder settings), the baseline that collabcare_bench compares throughput against.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "collabcare/bench/v1/echo.grpc.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "gRPC listen address (host:port; port 0 picks one)");
ABSL_FLAG(std::string, port_file, "", "write the bound port here once serving");
ABSL_FLAG(int, max_threads, 200, "upper bound on gRPC worker threads (as collabcare-server)");

namespace collabcare::bench {
namespace {

namespace v1 = ::collabcare::bench::v1;

// Echoes the request. Like collabcare-server's handlers it looks up the one `authorization:
// Bearer …` header, so both servers do the same metadata work; the token is not verified.
class EchoServiceImpl final : public v1::EchoService::Service {
 public:
  grpc::Status Echo(grpc::ServerContext* context, const v1::EchoMessage* request,
                    v1::EchoMessage* response) override {
    const auto& metadata = context->client_metadata();
    auto range = metadata.equal_range("authorization");
    if (range.first == range.second || std::next(range.first) != range.second) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "want one authorization header");
    }
    absl::string_view value(range.first->second.data(), range.first->second.size());
    if (!absl::StartsWithIgnoreCase(value, "Bearer ")) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "want a Bearer token");
    }
    *response = *request;
    return grpc::Status::OK;
  }
};

// Writes the port to a temporary file and renames it into place, so a reader never sees a
// partial file.
bool WritePortFile(const std::string& path, int port) {
  const std::string temp = absl::StrCat(path, ".tmp");
  {
    std::ofstream out(temp);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

int Run() {
  // SIGTERM and SIGINT are taken synchronously by the main thread, as in collabcare-server.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  EchoServiceImpl service;
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  grpc::ResourceQuota quota("bench_echo_server");
  quota.SetMaxThreads(absl::GetFlag(FLAGS_max_threads));
  builder.SetResourceQuota(quota);
  // Keep idle workers polling instead of exiting: handlers block on the store, and gRPC's
  // default (at most 2 pollers) makes every burst start and stop threads.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "bench_echo_server: cannot bind %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  if (!absl::GetFlag(FLAGS_port_file).empty() &&
      !WritePortFile(absl::GetFlag(FLAGS_port_file), port)) {
    std::fprintf(stderr, "bench_echo_server: cannot write --port_file\n");
    return 1;
  }

  int signal = 0;
  sigwait(&signals, &signal);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}

}  // namespace
}  // namespace collabcare::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "bench_echo_server: echo baseline for collabcare_bench.\n"
      "  bench_echo_server --listen=127.0.0.1:0 --port_file=PATH");
  absl::ParseCommandLine(argc, argv);
  return collabcare::bench::Run();
}
