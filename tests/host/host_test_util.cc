// Loopback servers, TLS material, keys and an OpenSSL-only JWS check for the host tests.
#include "tests/host/host_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace collabcare::host::testutil {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "host test setup failed: %s\n", what);
  std::abort();
}

// A TCP socket bound to 127.0.0.1 on a kernel-chosen port.
int BindLoopback(int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Die("bind");
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) Die("getsockname");
  *port = ntohs(addr.sin_port);
  return fd;
}

std::string PemOf(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    Die("PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

EVP_PKEY* KeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    key = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return key;
}

BIGNUM* Bn(const std::string& bytes) {
  return BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                   static_cast<int>(bytes.size()), nullptr);
}

// The public key of a JWK (RSA, or EC P-384), or null.
EVP_PKEY* PublicKeyFromJwk(const nlohmann::json& jwk) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (jwk.value("kty", "") == "RSA") {
    BIGNUM* n = Bn(B64UrlDecode(jwk.value("n", "")));
    BIGNUM* e = Bn(B64UrlDecode(jwk.value("e", "")));
    if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1) {
      key = KeyFromParams("RSA", bld);
    }
    BN_free(n);
    BN_free(e);
  } else if (jwk.value("kty", "") == "EC" && jwk.value("crv", "") == "P-384") {
    const std::string point =
        absl::StrCat("\x04", B64UrlDecode(jwk.value("x", "")), B64UrlDecode(jwk.value("y", "")));
    if (point.size() == 97 &&
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-384", 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) == 1) {
      key = KeyFromParams("EC", bld);
    }
  }
  OSSL_PARAM_BLD_free(bld);
  return key;
}

// JWS raw r||s to DER, or empty.
std::string RawToDer(const std::string& raw) {
  if (raw.size() != 96) return "";
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = Bn(raw.substr(0, 48));
  BIGNUM* s = Bn(raw.substr(48));
  ECDSA_SIG_set0(sig, r, s);
  const int size = i2d_ECDSA_SIG(sig, nullptr);
  std::string der(static_cast<size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  return der;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "collabcare-host-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TestServer::TestServer() : server_(std::make_unique<httplib::Server>()) {}

TestServer::TestServer(const std::string& cert, const std::string& key,
                       const std::string& client_ca)
    : server_(std::make_unique<httplib::SSLServer>(
          cert.c_str(), key.c_str(), client_ca.empty() ? nullptr : client_ca.c_str())),
      tls_(true) {
  if (!server_->is_valid()) Die("SSLServer");
}

void TestServer::Start() {
  // bind_to_any_port also listens, so clients may connect as soon as it returns.
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) Die("bind_to_any_port");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() is a no-op until the loop has marked itself running (cpp-httplib 0.11 has no
  // wait_until_ready), so wait for that state; clients need not wait, the socket listens.
  while (!server_->is_running()) std::this_thread::yield();
}

TestServer::~TestServer() {
  if (!release_.HasBeenNotified()) release_.Notify();
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string TestServer::url() const {
  return absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", port_);
}

RawServer::RawServer(std::function<void(int fd)> serve) {
  listen_fd_ = BindLoopback(&port_);
  if (listen(listen_fd_, 16) != 0) Die("listen");
  thread_ = std::thread([this, serve = std::move(serve)] {
    while (true) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;  // shut down
      serve(fd);
    }
  });
}

RawServer::~RawServer() {
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  thread_.join();
  close(listen_fd_);
}

std::string RawServer::url() const { return absl::StrCat("http://127.0.0.1:", port_); }

void ReadRequestHead(int fd) {
  std::string data;
  char buf[4096];
  while (data.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return;
    data.append(buf, static_cast<size_t>(n));
  }
}

void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

RefusedPort::RefusedPort() { fd_ = BindLoopback(&port_); }
RefusedPort::~RefusedPort() { close(fd_); }
std::string RefusedPort::url() const { return absl::StrCat("http://127.0.0.1:", port_); }

TlsFiles MakeTlsFiles(const std::string& dir) {
  const std::string script = absl::StrCat(R"(set -e
cd ')",
                                          dir, R"('
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key ca.key; key other-ca.key; key server.key; key client.key
openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=collabcare-test-ca
openssl req -x509 -new -key other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl req -new -key server.key -out server.csr -subj /CN=127.0.0.1
openssl req -new -key client.key -out client.csr -subj /CN=collabcare-client
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile client.ext -out client.pem 2>/dev/null
)");
  const std::string script_path = dir + "/make-tls.sh";
  std::ofstream(script_path) << script;
  if (std::system(("sh '" + script_path + "'").c_str()) != 0) Die("openssl");
  return TlsFiles{dir + "/ca.pem",     dir + "/server.pem", dir + "/server.key",
                  dir + "/client.pem", dir + "/client.key", dir + "/other-ca.pem"};
}

std::string NewRsaKeyPem(int bits) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  if (key == nullptr) Die("RSA keygen");
  return PemOf(key);
}

std::string NewEcKeyPem(const char* curve) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  if (key == nullptr) Die("EC keygen");
  return PemOf(key);
}

std::string B64UrlEncode(absl::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string B64UrlDecode(absl::string_view encoded) {
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : encoded) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return "";
    }
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string Thumbprint(const nlohmann::json& jwk) {
  std::string canonical;
  if (jwk.value("kty", "") == "RSA") {
    canonical = absl::StrCat(R"({"e":")", jwk.value("e", ""), R"(","kty":"RSA","n":")",
                             jwk.value("n", ""), R"("})");
  } else {
    canonical = absl::StrCat(R"({"crv":")", jwk.value("crv", ""), R"(","kty":"EC","x":")",
                             jwk.value("x", ""), R"(","y":")", jwk.value("y", ""), R"("})");
  }
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(canonical.data(), canonical.size(), digest, &size, EVP_sha256(), nullptr);
  return B64UrlEncode(absl::string_view(reinterpret_cast<char*>(digest), size));
}

bool VerifyJws(const std::string& jws, const nlohmann::json& jwk, nlohmann::json* header,
               nlohmann::json* payload) {
  const std::vector<std::string> parts = absl::StrSplit(jws, '.');
  if (parts.size() != 3) return false;
  *header = nlohmann::json::parse(B64UrlDecode(parts[0]), nullptr, false);
  *payload = nlohmann::json::parse(B64UrlDecode(parts[1]), nullptr, false);
  if (!header->is_object() || !payload->is_object()) return false;
  const std::string alg = header->value("alg", "");
  if (alg != "RS384" && alg != "ES384") return false;
  std::string signature = B64UrlDecode(parts[2]);
  if (alg == "ES384") signature = RawToDer(signature);
  EVP_PKEY* key = PublicKeyFromJwk(jwk);
  if (key == nullptr || signature.empty()) {
    EVP_PKEY_free(key);
    return false;
  }
  const std::string input = parts[0] + "." + parts[1];
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha384(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

std::map<std::string, std::string> ParseForm(absl::string_view body) {
  auto decode = [](absl::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '+') {
        out.push_back(' ');
      } else if (text[i] == '%' && i + 2 < text.size()) {
        out.push_back(
            static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        out.push_back(text[i]);
      }
    }
    return out;
  };
  std::map<std::string, std::string> form;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    form[decode(pair.substr(0, eq))] =
        eq == absl::string_view::npos ? "" : decode(pair.substr(eq + 1));
  }
  return form;
}

}  // namespace collabcare::host::testutil
