// URL path templates in the style of google.api.http (`/v1/{parent=episodes/*}/goals`,
// `/v1/{name=episodes/*/goals/*}:restate`): which route a request path takes, and which
// resource name it carries.
#ifndef COLLABCARE_PLUGIN_HTTP_PATH_TEMPLATE_H_
#define COLLABCARE_PLUGIN_HTTP_PATH_TEMPLATE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace collabcare::http {

// A path matched against a template: the request field the template binds (e.g. `goal.name`,
// empty when the template binds none) and its value (e.g. `episodes/E/goals/G`).
struct PathMatch {
  std::string field;
  std::string value;
};

// A parsed template. The grammar is the subset of google.api.http that API v1 uses: literal
// segments, `*` (exactly one segment), at most one variable `{field.path=segments}` (or `{field}`
// for one segment) and an optional `:verb` after the last segment. Immutable; thread-safe.
class PathTemplate {
 public:
  // INVALID_ARGUMENT naming what is wrong with `text`.
  static absl::StatusOr<PathTemplate> Parse(absl::string_view text);

  // The match if `path` (already percent-decoded, without the query) fits the template. A `*`
  // matches one non-empty segment of letters, digits and `-._~` other than `.` and `..`, so a
  // matched resource name never holds a slash, a colon, a traversal or anything to escape.
  std::optional<PathMatch> Match(absl::string_view path) const;

  // The template as written (safe to log: it holds no ids).
  const std::string& text() const { return text_; }

 private:
  struct Segment {
    std::string literal;  // empty for `*`
  };
  std::string text_;
  std::vector<Segment> segments_;
  std::string field_;
  int var_begin_ = -1;  // [var_begin_, var_end_) are the variable's segments
  int var_end_ = -1;
  std::string verb_;
};

// Whether `segment` may be one segment of a resource id (see Match).
bool IsIdSegment(absl::string_view segment);

}  // namespace collabcare::http

#endif  // COLLABCARE_PLUGIN_HTTP_PATH_TEMPLATE_H_
