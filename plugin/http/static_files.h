// The SMART app's static files as the HTTP face serves them: which file a URL names (never one
// outside the web root), its content type, the Content-Security-Policy around it and the
// generated /app/config.json.
#ifndef COLLABCARE_PLUGIN_HTTP_STATIC_FILES_H_
#define COLLABCARE_PLUGIN_HTTP_STATIC_FILES_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace collabcare::http {

// The file under `root` that `relative` (the percent-decoded path after `/app/`) names.
// NOT_FOUND unless it is a regular file inside the root: empty, `.` and `..` segments, hidden
// names (a leading `.`), backslashes, NUL and symbolic links that lead out of the root are all
// refused. The message never repeats the path.
absl::StatusOr<std::filesystem::path> ResolveAppFile(const std::filesystem::path& root,
                                                     absl::string_view relative);

// The Content-Type for a file by its extension (html, js, mjs, css, json, map, svg, png, ico,
// woff2, txt, webmanifest; application/octet-stream otherwise).
std::string ContentTypeFor(const std::filesystem::path& file);

// The app's Content-Security-Policy:
//   default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;
//   connect-src 'self' <connect_src…>; frame-ancestors <frame_ancestors…>; base-uri 'none';
//   form-action 'self'
// Each source must be an http(s) origin (optionally with a path) or 'self'; frame-ancestors
// may also be 'none' alone, and defaults to 'self' when empty. INVALID_ARGUMENT naming the
// option and index (`connect_src[1]: …`) otherwise, so nothing can inject a directive.
absl::StatusOr<std::string> ContentSecurityPolicy(const std::vector<std::string>& connect_src,
                                                  const std::vector<std::string>& frame_ancestors);

// {"clientId":…,"scope":…,"fhirServers":[…]} (fhirServers only when given).
std::string AppConfigJson(const std::string& client_id, const std::string& scope,
                          const std::vector<std::string>& fhir_servers);

}  // namespace collabcare::http

#endif  // COLLABCARE_PLUGIN_HTTP_STATIC_FILES_H_
