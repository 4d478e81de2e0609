// The libcurl transport against real loopback servers: statuses as values, transport failures
// as errors, TLS options, proxies, size bounds and concurrent use.
#include "adapters/host/http_transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/host/host_test_util.h"

namespace collabcare::host {
namespace {

using testutil::RawServer;
using testutil::TestServer;

std::unique_ptr<HttpTransport> Transport(CurlTransportOptions options = {}) {
  auto transport = NewCurlTransport(options);
  EXPECT_TRUE(transport.ok()) << transport.status();
  return std::move(transport).value();
}

HttpRequest Get(const std::string& url) {
  HttpRequest request;
  request.url = url;
  return request;
}

TEST(CurlTransportTest, EveryHttpStatusIsAValue) {
  TestServer server;
  server.server().Get(R"(/status/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.status = std::stoi(req.matches[1]);
    res.set_header("X-Echo", "Value");
    res.set_content(absl::StrCat("body ", req.matches[1].str()), "text/plain");
  });
  server.Start();
  auto transport = Transport();
  for (int code : {200, 201, 400, 404, 412, 429, 500, 503}) {
    auto response = transport->Send(Get(absl::StrCat(server.url(), "/status/", code)));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, code);
    EXPECT_EQ(response->body, absl::StrCat("body ", code));
    EXPECT_EQ(response->Header("x-echo"), "Value");
    EXPECT_EQ(response->Header("X-ECHO"), "Value");
  }
}

TEST(CurlTransportTest, SendsMethodHeadersAndBody) {
  TestServer server;
  std::vector<std::string> seen;
  std::mutex mu;
  auto record = [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    seen.push_back(absl::StrCat(req.method, " ", req.path, " ", req.get_header_value("X-Test"), " ",
                                req.get_header_value("Content-Type"), " ", req.body));
    res.set_content("ok", "text/plain");
  };
  server.server().Post("/r", record);
  server.server().Put("/r", record);
  server.server().Patch("/r", record);
  server.server().Delete("/r", record);
  server.server().Get("/r", record);
  server.Start();
  auto transport = Transport();
  for (HttpMethod method : {HttpMethod::kPost, HttpMethod::kPut, HttpMethod::kPatch,
                            HttpMethod::kDelete, HttpMethod::kGet}) {
    HttpRequest request;
    request.method = method;
    request.url = server.url() + "/r";
    request.headers = {{"X-Test", "t1"}};
    if (method != HttpMethod::kGet) {
      request.headers.emplace_back("Content-Type", "application/fhir+json");
      request.body = R"({"a":1})";
    }
    auto response = transport->Send(request);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
  }
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{
                      R"(POST /r t1 application/fhir+json {"a":1})",
                      R"(PUT /r t1 application/fhir+json {"a":1})",
                      R"(PATCH /r t1 application/fhir+json {"a":1})",
                      R"(DELETE /r t1 application/fhir+json {"a":1})",
                      "GET /r t1  ",
                  }));
}

TEST(CurlTransportTest, RedirectsAreNotFollowed) {
  TestServer server;
  std::atomic<int> target_hits{0};
  server.server().Get("/moved", [](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", "/target");
  });
  server.server().Get("/target", [&](const httplib::Request&, httplib::Response& res) {
    ++target_hits;
    res.set_content("target", "text/plain");
  });
  server.Start();
  auto response = Transport()->Send(Get(server.url() + "/moved"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 302);
  EXPECT_EQ(target_hits.load(), 0);
}

TEST(CurlTransportTest, SlowServerTimesOut) {
  TestServer server;
  server.server().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    server.release().WaitForNotificationWithTimeout(absl::Seconds(20));
    res.set_content("late", "text/plain");
  });
  server.Start();
  CurlTransportOptions options;
  options.total_timeout = absl::Milliseconds(200);
  auto response = Transport(options)->Send(Get(server.url() + "/slow"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded) << response.status();
  EXPECT_TRUE(IsTransportError(response.status()));
}

TEST(CurlTransportTest, ConnectionRefusedIsUnavailable) {
  testutil::RefusedPort port;
  auto response = Transport()->Send(Get(port.url() + "/Goal?identifier=secret-value"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_TRUE(IsTransportError(response.status()));
  EXPECT_EQ(response.status().message().find("secret-value"), absl::string_view::npos)
      << response.status();
  EXPECT_NE(response.status().message().find("/Goal"), absl::string_view::npos);
}

TEST(CurlTransportTest, ClosedMidResponseIsUnavailable) {
  RawServer server([](int fd) {
    testutil::ReadRequestHead(fd);
    testutil::WriteAll(fd,
                       "HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n"
                       "Content-Length: 1000\r\n\r\n{\"resourceType\":\"Go");
    close(fd);
  });
  auto response = Transport()->Send(Get(server.url() + "/Goal/1"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
  EXPECT_TRUE(IsTransportError(response.status()));
}

TEST(CurlTransportTest, ClosedWithoutResponseIsUnavailable) {
  RawServer server([](int fd) {
    testutil::ReadRequestHead(fd);
    close(fd);
  });
  auto response = Transport()->Send(Get(server.url() + "/Goal/1"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
}

TEST(CurlTransportTest, ResetIsUnavailable) {
  RawServer server([](int fd) {
    testutil::ReadRequestHead(fd);
    linger hard{1, 0};  // close() sends RST
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(fd);
  });
  auto response = Transport()->Send(Get(server.url() + "/Goal/1"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable) << response.status();
}

TEST(CurlTransportTest, OversizeBodyWithLengthIsRefused) {
  TestServer server;
  server.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(200000, 'x'), "text/plain");
  });
  server.Start();
  CurlTransportOptions options;
  options.max_response_bytes = 100000;
  auto response = Transport(options)->Send(Get(server.url() + "/big"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted) << response.status();
  EXPECT_TRUE(IsTransportError(response.status()));
}

TEST(CurlTransportTest, OversizeChunkedBodyIsRefused) {
  TestServer server;
  server.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 400000) {
        sink.done();
        return true;
      }
      const std::string chunk(10000, 'y');
      return sink.write(chunk.data(), chunk.size());
    });
  });
  server.Start();
  CurlTransportOptions options;
  options.max_response_bytes = 100000;
  auto transport = Transport(options);
  auto response = transport->Send(Get(server.url() + "/big"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted) << response.status();
  // Exactly at the bound is fine.
  options.max_response_bytes = 400000;
  auto exact = Transport(options)->Send(Get(server.url() + "/big"));
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->body.size(), 400000u);
}

TEST(CurlTransportTest, RefusesOtherSchemesAndHeaderInjection) {
  auto transport = Transport();
  EXPECT_EQ(transport->Send(Get("file:///etc/passwd")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(transport->Send(Get("gopher://127.0.0.1/")).status().code(),
            absl::StatusCode::kInvalidArgument);
  HttpRequest request = Get("http://127.0.0.1:1/");
  request.headers = {{"X-Bad", "a\r\nInjected: yes"}};
  EXPECT_EQ(transport->Send(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CurlTransportTest, RefusesInconsistentOptions) {
  CurlTransportOptions options;
  options.client_cert_path = "/nonexistent/cert.pem";
  EXPECT_EQ(NewCurlTransport(options).status().code(), absl::StatusCode::kInvalidArgument);
  CurlTransportOptions zero;
  zero.total_timeout = absl::ZeroDuration();
  EXPECT_EQ(NewCurlTransport(zero).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CurlTransportTest, ConcurrentCallsFromManyThreads) {
  TestServer server;
  server.server().Get(R"(/echo/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.matches[1].str(), "text/plain");
  });
  server.Start();
  auto transport = Transport();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string n = absl::StrCat(t * 100 + i);
        auto response = transport->Send(Get(server.url() + "/echo/" + n));
        if (response.ok() && response->status == 200 && response->body == n) ++good;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 120);
}

TEST(CurlTransportTest, PlainHttpProxyIsUsed) {
  TestServer proxy;
  std::string seen_target;
  std::mutex mu;
  proxy.server().Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    seen_target = req.target;
    res.set_content("via proxy", "text/plain");
  });
  proxy.Start();
  CurlTransportOptions options;
  options.proxy = proxy.url();
  // .invalid never resolves (RFC 6761): only the proxy can answer.
  auto response = Transport(options)->Send(Get("http://ehr.invalid/fhir/metadata"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "via proxy");
  std::lock_guard lock(mu);
  EXPECT_EQ(seen_target, "http://ehr.invalid/fhir/metadata");
}

class CurlTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { tls_ = testutil::MakeTlsFiles(dir_.path()); }

  testutil::TempDir dir_;
  testutil::TlsFiles tls_;
};

TEST_F(CurlTlsTest, TrustsOnlyTheConfiguredCaBundle) {
  TestServer server(tls_.server_cert, tls_.server_key);
  server.server().Get("/metadata", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("tls ok", "text/plain");
  });
  server.Start();
  CurlTransportOptions trusting;
  trusting.ca_bundle_path = tls_.ca_cert;
  auto good = Transport(trusting)->Send(Get(server.url() + "/metadata"));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->body, "tls ok");

  CurlTransportOptions other;
  other.ca_bundle_path = tls_.other_ca_cert;
  auto untrusted = Transport(other)->Send(Get(server.url() + "/metadata"));
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable) << untrusted.status();
  EXPECT_TRUE(IsTransportError(untrusted.status()));

  auto system_store = Transport()->Send(Get(server.url() + "/metadata"));
  EXPECT_EQ(system_store.status().code(), absl::StatusCode::kUnavailable) << system_store.status();
}

TEST_F(CurlTlsTest, MissingCaBundleIsFailedPrecondition) {
  TestServer server(tls_.server_cert, tls_.server_key);
  server.Start();
  CurlTransportOptions options;
  options.ca_bundle_path = dir_.path() + "/no-such-ca.pem";
  auto response = Transport(options)->Send(Get(server.url() + "/metadata"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kFailedPrecondition) << response.status();
}

TEST_F(CurlTlsTest, ClientCertificateWhenServerRequiresOne) {
  TestServer server(tls_.server_cert, tls_.server_key, tls_.ca_cert);
  server.server().Get("/metadata", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.ssl != nullptr && SSL_get0_peer_certificate(req.ssl) != nullptr
                        ? "client known"
                        : "anonymous",
                    "text/plain");
  });
  server.Start();
  CurlTransportOptions anonymous;
  anonymous.ca_bundle_path = tls_.ca_cert;
  auto refused = Transport(anonymous)->Send(Get(server.url() + "/metadata"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();

  CurlTransportOptions mutual = anonymous;
  mutual.client_cert_path = tls_.client_cert;
  mutual.client_key_path = tls_.client_key;
  auto accepted = Transport(mutual)->Send(Get(server.url() + "/metadata"));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->body, "client known");
}

TEST(RedactUrlTest, DropsQueryAndUserinfo) {
  EXPECT_EQ(RedactUrl("https://u:pw@ehr.example/fhir/Goal?identifier=x#f"),
            "https://ehr.example/fhir/Goal?...");
  EXPECT_EQ(RedactUrl("http://127.0.0.1:8080/fhir/Goal/1"), "http://127.0.0.1:8080/fhir/Goal/1");
}

}  // namespace
}  // namespace collabcare::host
