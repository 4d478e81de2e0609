// The development identity (an ES256 key and its JWKS under <data_dir>/dev-identity/) and
// token minting, so the quickstart runs without an identity provider.
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "plugin/common/log.h"
#include "plugin/common/status_macros.h"
#include "plugin/identity/identity.h"
#include "plugin/identity/jose.h"

namespace collabcare::identity {
namespace {

using internal::EvpPkeyPtr;
using internal::JwsAlg;
using Json = nlohmann::json;

constexpr char kDirName[] = "dev-identity";
constexpr char kKeyFile[] = "signing-key.pem";
constexpr char kJwksFile[] = "jwks.json";

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

std::string DevDir(const std::string& data_dir) { return absl::StrCat(data_dir, "/", kDirName); }

absl::Status ErrnoError(int error, absl::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path));
}

// Closes a file descriptor on scope exit.
class Fd final {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Reads a whole file; NOT_FOUND when it (or its folder) does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(errno, "open", path);
  std::string content;
  std::array<char, 4096> buffer;
  for (;;) {
    const ssize_t n = read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "read", path);
    if (n == 0) break;
    content.append(buffer.data(), static_cast<size_t>(n));
    if (content.size() > (1 << 20)) return absl::FailedPreconditionError(path + " is too large");
  }
  return content;
}

// Writes `dir/name` atomically: a temporary file in the same folder, fsync, rename, so a crash
// leaves either the old file or the complete new one, never a torn key.
absl::Status WriteFileAtomically(const std::string& dir, const char* name,
                                 const std::string& content, mode_t mode) {
  const std::string path = absl::StrCat(dir, "/", name);
  std::string temp = absl::StrCat(dir, "/.", name, ".XXXXXX");
  Fd fd(mkstemp(temp.data()));  // created with mode 0600
  if (fd.get() < 0) return ErrnoError(errno, "mkstemp", temp);
  absl::Status status;
  if (fchmod(fd.get(), mode) != 0) status = ErrnoError(errno, "fchmod", temp);
  for (size_t written = 0; status.ok() && written < content.size();) {
    const ssize_t n = write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ErrnoError(errno, "write", temp);
    } else {
      written += static_cast<size_t>(n);
    }
  }
  if (status.ok() && fsync(fd.get()) != 0) status = ErrnoError(errno, "fsync", temp);
  if (close(fd.Release()) != 0 && status.ok()) status = ErrnoError(errno, "close", temp);
  if (status.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoError(errno, "rename", path);
  }
  if (!status.ok()) {
    unlink(temp.c_str());
    return status;
  }
  // Make the rename itself durable.
  Fd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) fsync(dir_fd.get());
  return absl::OkStatus();
}

// Creates `data_dir` (and parents) and `data_dir/dev-identity` with mode 0700.
absl::Status MakeDevDir(const std::string& data_dir) {
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) return absl::ErrnoToStatus(error.value(), absl::StrCat("create ", data_dir));
  const std::string dir = DevDir(data_dir);
  if (mkdir(dir.c_str(), 0700) == 0) {
    // mkdir applies the umask; set the mode the private key's folder needs explicitly.
    if (chmod(dir.c_str(), 0700) != 0) return ErrnoError(errno, "chmod", dir);
    return absl::OkStatus();
  }
  if (errno != EEXIST) return ErrnoError(errno, "mkdir", dir);
  struct stat info;
  if (stat(dir.c_str(), &info) != 0) return ErrnoError(errno, "stat", dir);
  if (!S_ISDIR(info.st_mode)) return absl::FailedPreconditionError(dir + " is not a folder");
  return absl::OkStatus();
}

absl::StatusOr<std::string> GenerateKeyPem() {
  EvpPkeyPtr key(EVP_EC_gen(SN_X9_62_prime256v1));
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3.
  if (!key || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return absl::InternalError("generating the development key failed");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || data == nullptr) return absl::InternalError("BIO_get_mem_data failed");
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> Sign(EVP_PKEY* key, JwsAlg alg, absl::string_view input) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, internal::JwsDigest(alg), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("EVP_DigestSign failed");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return absl::InternalError("EVP_DigestSign failed");
  }
  signature.resize(size);
  if (!internal::IsEcdsa(alg)) return signature;
  return internal::EcdsaDerToRaw(signature, internal::EcCoordinateBytes(alg));
}

}  // namespace

absl::StatusOr<DevIdentity> LoadDevIdentity(const std::string& data_dir) {
  const std::string dir = DevDir(data_dir);
  const std::string key_path = absl::StrCat(dir, "/", kKeyFile);
  ASSIGN_OR_RETURN(std::string pem, ReadFile(key_path));
  absl::StatusOr<EvpPkeyPtr> key = internal::ParsePrivateKeyPem(pem);
  if (!key.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(key_path, ": ", key.status().message()));
  }
  struct stat info;
  if (stat(key_path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
    Log(LogLevel::kWarning, "dev_identity_key_readable_by_others", {{"path", key_path}});
  }
  // The JWKS is always derived from the key, so the two cannot disagree.
  absl::StatusOr<internal::PublicJwk> jwk = internal::MakePublicJwk(key->get());
  if (!jwk.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(key_path, ": ", jwk.status().message()));
  }
  DevIdentity identity;
  identity.private_key_pem = std::move(pem);
  identity.jwks_json = absl::StrCat("{\"keys\":[", jwk->json, "]}");
  identity.key_id = jwk->kid;
  return identity;
}

absl::StatusOr<DevIdentity> EnsureDevIdentity(const std::string& data_dir) {
  if (data_dir.empty()) return absl::InvalidArgumentError("data_dir is empty");
  RETURN_IF_ERROR(MakeDevDir(data_dir));
  const std::string dir = DevDir(data_dir);
  const std::string key_path = absl::StrCat(dir, "/", kKeyFile);
  struct stat info;
  if (stat(key_path.c_str(), &info) != 0) {
    if (errno != ENOENT) return ErrnoError(errno, "stat", key_path);
    ASSIGN_OR_RETURN(const std::string pem, GenerateKeyPem());
    RETURN_IF_ERROR(WriteFileAtomically(dir, kKeyFile, pem, 0600));
    Log(LogLevel::kInfo, "dev_identity_created", {{"path", dir}});
  }
  ASSIGN_OR_RETURN(DevIdentity identity, LoadDevIdentity(data_dir));
  // jwks.json is for other tools (an API gateway, curl users); keep it in step with the key.
  absl::StatusOr<std::string> jwks_on_disk = ReadFile(absl::StrCat(dir, "/", kJwksFile));
  if (!jwks_on_disk.ok() || *jwks_on_disk != identity.jwks_json) {
    if (!jwks_on_disk.ok() && !absl::IsNotFound(jwks_on_disk.status())) {
      return jwks_on_disk.status();
    }
    RETURN_IF_ERROR(WriteFileAtomically(dir, kJwksFile, identity.jwks_json, 0644));
  }
  return identity;
}

absl::StatusOr<std::string> MintToken(const std::string& private_key_pem, const std::string& key_id,
                                      const TokenClaims& claims, absl::Time now) {
  if (claims.issuer.empty()) return absl::InvalidArgumentError("claims.issuer is empty");
  if (claims.audience.empty()) return absl::InvalidArgumentError("claims.audience is empty");
  if (claims.lifetime < absl::Seconds(1)) {
    return absl::InvalidArgumentError("claims.lifetime is shorter than a second");
  }
  if (absl::StatusOr<std::string> person = internal::ReduceFhirUser(claims.fhir_user);
      !person.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("claims.fhir_user: ", person.status().message()));
  }
  ASSIGN_OR_RETURN(const EvpPkeyPtr key, internal::ParsePrivateKeyPem(private_key_pem));
  ASSIGN_OR_RETURN(const JwsAlg alg, internal::SigningAlgForKey(key.get()));

  std::array<unsigned char, 16> jti;
  if (RAND_bytes(jti.data(), static_cast<int>(jti.size())) != 1) {
    ERR_clear_error();
    return absl::UnavailableError("RAND_bytes failed");
  }
  const int64_t issued = absl::ToUnixSeconds(now);
  Json header = {{"alg", internal::JwsAlgName(alg)}, {"typ", "JWT"}};
  if (!key_id.empty()) header["kid"] = key_id;
  const Json payload = {
      {"iss", claims.issuer},
      {"aud", claims.audience},
      {"sub", claims.subject.empty() ? claims.fhir_user : claims.subject},
      {"fhirUser", claims.fhir_user},
      {"iat", issued},
      {"nbf", issued},
      {"exp", issued + absl::ToInt64Seconds(claims.lifetime)},
      {"jti", internal::Base64UrlEncode(
                  absl::string_view(reinterpret_cast<const char*>(jti.data()), jti.size()))},
  };
  // The replace handler keeps dump() from throwing on invalid UTF-8 in caller-supplied strings.
  constexpr auto kReplace = Json::error_handler_t::replace;
  const std::string signing_input =
      absl::StrCat(internal::Base64UrlEncode(header.dump(-1, ' ', false, kReplace)), ".",
                   internal::Base64UrlEncode(payload.dump(-1, ' ', false, kReplace)));
  ASSIGN_OR_RETURN(const std::string signature, Sign(key.get(), alg, signing_input));
  return absl::StrCat(signing_input, ".", internal::Base64UrlEncode(signature));
}

}  // namespace collabcare::identity
