// google.api.http-style path templates.
#include "plugin/http/path_template.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace collabcare::http {
namespace {

absl::Status TemplateError(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("path template ", text, ": ", why));
}

bool IsFieldPath(absl::string_view field) {
  if (field.empty() || field.front() == '.' || field.back() == '.') return false;
  return std::all_of(field.begin(), field.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '.';
  });
}

}  // namespace

bool IsIdSegment(absl::string_view segment) {
  if (segment.empty() || segment == "." || segment == "..") return false;
  return std::all_of(segment.begin(), segment.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
  });
}

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view text) {
  PathTemplate parsed;
  parsed.text_ = std::string(text);
  if (!absl::StartsWith(text, "/")) return TemplateError(text, "must start with /");
  absl::string_view rest = text.substr(1);
  // The verb follows the last segment: after the last '/' and after the variable, if any.
  size_t after = 0;
  for (size_t pos : {rest.rfind('/'), rest.rfind('}')}) {
    if (pos != absl::string_view::npos) after = std::max(after, pos + 1);
  }
  if (size_t colon = rest.find(':', after); colon != absl::string_view::npos) {
    parsed.verb_ = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (parsed.verb_.empty() ||
        !std::all_of(parsed.verb_.begin(), parsed.verb_.end(), absl::ascii_isalnum)) {
      return TemplateError(text, "the verb must be letters and digits");
    }
  }
  auto add = [&](absl::string_view piece) -> absl::Status {
    if (piece == "*") {
      parsed.segments_.push_back({""});
      return absl::OkStatus();
    }
    if (!IsIdSegment(piece) || absl::StrContains(piece, '*')) {
      return TemplateError(text, "segments are literals or *");
    }
    parsed.segments_.push_back({std::string(piece)});
    return absl::OkStatus();
  };
  while (!rest.empty()) {
    if (rest.front() == '{') {
      const size_t close = rest.find('}');
      if (close == absl::string_view::npos) return TemplateError(text, "unclosed {");
      if (parsed.var_begin_ >= 0) return TemplateError(text, "at most one variable");
      absl::string_view inner = rest.substr(1, close - 1);
      const size_t eq = inner.find('=');
      absl::string_view field = inner.substr(0, eq);
      absl::string_view pattern = eq == absl::string_view::npos ? "*" : inner.substr(eq + 1);
      if (!IsFieldPath(field)) return TemplateError(text, "bad field path");
      parsed.field_ = std::string(field);
      parsed.var_begin_ = static_cast<int>(parsed.segments_.size());
      for (absl::string_view piece : absl::StrSplit(pattern, '/')) {
        if (absl::Status s = add(piece); !s.ok()) return s;
      }
      parsed.var_end_ = static_cast<int>(parsed.segments_.size());
      rest = rest.substr(close + 1);
    } else {
      const size_t slash = rest.find('/');
      if (absl::Status s = add(rest.substr(0, slash)); !s.ok()) return s;
      rest = slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash);
    }
    if (!rest.empty()) {
      if (rest.front() != '/') return TemplateError(text, "expected / between segments");
      rest.remove_prefix(1);
      if (rest.empty()) return TemplateError(text, "trailing /");
    }
  }
  if (parsed.segments_.empty()) return TemplateError(text, "no segments");
  return parsed;
}

std::optional<PathMatch> PathTemplate::Match(absl::string_view path) const {
  if (!absl::ConsumePrefix(&path, "/")) return std::nullopt;
  if (!verb_.empty()) {
    if (!absl::EndsWith(path, absl::StrCat(":", verb_))) return std::nullopt;
    path.remove_suffix(verb_.size() + 1);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() != segments_.size()) return std::nullopt;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& literal = segments_[i].literal;
    if (literal.empty() ? !IsIdSegment(parts[i]) : parts[i] != literal) return std::nullopt;
  }
  PathMatch match;
  if (var_begin_ >= 0) {
    match.field = field_;
    match.value = absl::StrJoin(parts.begin() + var_begin_, parts.begin() + var_end_, "/");
  }
  return match;
}

}  // namespace collabcare::http
