// Test helpers for adapters/host: real loopback HTTP(S) servers on free ports, raw sockets for
// misbehaving peers, throwaway TLS material and keys, and an independent JWS check.
#ifndef COLLABCARE_TESTS_HOST_HOST_TEST_UTIL_H_
#define COLLABCARE_TESTS_HOST_HOST_TEST_UTIL_H_

#include <openssl/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace collabcare::host::testutil {

// A fresh folder from mkdtemp, removed with its contents on destruction.
class TempDir final {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A cpp-httplib server on 127.0.0.1 and a port the kernel picks. Register handlers on
// server(), then Start(). `release()` is notified before shutdown so that handlers blocking on
// it (to provoke client timeouts) return.
class TestServer final {
 public:
  TestServer();  // plain HTTP
  // HTTPS with `cert`/`key`; if `client_ca` is set, clients must present a certificate it signed.
  TestServer(const std::string& cert, const std::string& key, const std::string& client_ca = "");
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer();

  httplib::Server& server() { return *server_; }
  absl::Notification& release() { return release_; }
  void Start();
  int port() const { return port_; }
  // "http://127.0.0.1:<port>" (or https).
  std::string url() const;

 private:
  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  int port_ = 0;
  std::thread thread_;
  absl::Notification release_;
};

// A bare TCP listener on 127.0.0.1 whose thread hands each accepted socket to `serve`, which
// must close it. For peers that break HTTP (close or reset mid-response).
class RawServer final {
 public:
  explicit RawServer(std::function<void(int fd)> serve);
  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;
  ~RawServer();
  std::string url() const;

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// Reads from `fd` until the end of the request headers (or EOF).
void ReadRequestHead(int fd);
// Writes all of `data`.
void WriteAll(int fd, absl::string_view data);

// A loopback port bound but not listening, so connecting to it is refused. Kept while alive.
class RefusedPort final {
 public:
  RefusedPort();
  RefusedPort(const RefusedPort&) = delete;
  RefusedPort& operator=(const RefusedPort&) = delete;
  ~RefusedPort();
  std::string url() const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A CA, a server certificate for IP 127.0.0.1 and a client certificate signed by it, and an
// unrelated CA; made by the openssl command in `dir`.
struct TlsFiles {
  std::string ca_cert;
  std::string server_cert;
  std::string server_key;
  std::string client_cert;
  std::string client_key;
  std::string other_ca_cert;
};
TlsFiles MakeTlsFiles(const std::string& dir);

// Fresh keys as unencrypted PKCS#8 PEM. Generation failures abort.
std::string NewRsaKeyPem(int bits = 2048);
std::string NewEcKeyPem(const char* curve);  // "P-256", "P-384"

std::string B64UrlEncode(absl::string_view bytes);
// Decodes base64url without padding; empty on bad input.
std::string B64UrlDecode(absl::string_view encoded);
// RFC 7638 thumbprint of a public JWK, built by hand from its required members.
std::string Thumbprint(const nlohmann::json& jwk);

// Verifies a compact JWS against one JWK (RS384 or ES384; raw r||s for ECDSA) with OpenSSL
// alone. Returns the decoded header and payload in `header`/`payload`.
bool VerifyJws(const std::string& jws, const nlohmann::json& jwk, nlohmann::json* header,
               nlohmann::json* payload);

// Parses an application/x-www-form-urlencoded body.
std::map<std::string, std::string> ParseForm(absl::string_view body);

}  // namespace collabcare::host::testutil

#endif  // COLLABCARE_TESTS_HOST_HOST_TEST_UTIL_H_
