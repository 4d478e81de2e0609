// Static files, content types and the app's security policy.
#include "plugin/http/static_files.h"

#include <algorithm>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace collabcare::http {
namespace {

absl::Status NoSuchFile() { return absl::NotFoundError("no such file"); }

// An http(s) origin, optionally with a path: the only kind of host source accepted.
bool IsOriginSource(absl::string_view source) {
  if (!absl::ConsumePrefix(&source, "https://") && !absl::ConsumePrefix(&source, "http://")) {
    return false;
  }
  const size_t slash = source.find('/');
  absl::string_view host = source.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos ? "" : source.substr(slash);
  if (host.empty()) return false;
  const bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
  });
  const bool path_ok = std::all_of(path.begin(), path.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == '~';
  });
  return host_ok && path_ok;
}

}  // namespace

absl::StatusOr<std::filesystem::path> ResolveAppFile(const std::filesystem::path& root,
                                                     absl::string_view relative) {
  if (root.empty() || relative.empty()) return NoSuchFile();
  for (absl::string_view segment : absl::StrSplit(relative, '/')) {
    if (segment.empty() || segment.front() == '.' || absl::StrContains(segment, '\\') ||
        absl::StrContains(segment, '\0')) {
      return NoSuchFile();
    }
  }
  std::error_code ec;
  const std::filesystem::path base = std::filesystem::canonical(root, ec);
  if (ec) return NoSuchFile();
  // canonical() resolves symbolic links: the file must still lie inside the root.
  const std::filesystem::path file = std::filesystem::canonical(base / std::string(relative), ec);
  if (ec) return NoSuchFile();
  auto [root_end, _] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
  if (root_end != base.end() || !std::filesystem::is_regular_file(file, ec)) return NoSuchFile();
  return file;
}

std::string ContentTypeFor(const std::filesystem::path& file) {
  const std::string ext = absl::AsciiStrToLower(file.extension().string());
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".webmanifest") return "application/manifest+json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

absl::StatusOr<std::string> ContentSecurityPolicy(const std::vector<std::string>& connect_src,
                                                  const std::vector<std::string>& frame_ancestors) {
  for (size_t i = 0; i < connect_src.size(); ++i) {
    if (connect_src[i] != "'self'" && !IsOriginSource(connect_src[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "connect_src[", i, "]: must be an origin such as https://ehr.example or 'self'"));
    }
  }
  std::vector<std::string> ancestors = frame_ancestors;
  if (ancestors.empty()) ancestors.push_back("'self'");
  for (size_t i = 0; i < ancestors.size(); ++i) {
    const bool none_alone = ancestors[i] == "'none'" && ancestors.size() == 1;
    if (!none_alone && ancestors[i] != "'self'" && !IsOriginSource(ancestors[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("frame_ancestors[", i,
                       "]: must be an origin such as https://ehr.example, 'self', or 'none' "
                       "alone"));
    }
  }
  std::vector<std::string> connect = {"'self'"};
  for (const std::string& source : connect_src) {
    if (std::find(connect.begin(), connect.end(), source) == connect.end()) {
      connect.push_back(source);
    }
  }
  return absl::StrCat(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src ",
      absl::StrJoin(connect, " "), "; frame-ancestors ", absl::StrJoin(ancestors, " "),
      "; base-uri 'none'; form-action 'self'");
}

std::string AppConfigJson(const std::string& client_id, const std::string& scope,
                          const std::vector<std::string>& fhir_servers) {
  nlohmann::json config = {{"clientId", client_id}, {"scope", scope}};
  if (!fhir_servers.empty()) config["fhirServers"] = fhir_servers;
  return config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace collabcare::http
