// Path look-ups, FHIR JSON rule checks and a small XHTML checker for the mapping tests.
#include "tests/fhir/fhir_test_util.h"

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "adapters/fhir/json_writer.h"
#include "gtest/gtest.h"

namespace collabcare::fhir::testing {

JsonValue Parse(absl::string_view json) {
  absl::StatusOr<JsonValue> v = ParseJson(json);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.ok() ? *std::move(v) : JsonValue();
}

const JsonValue* At(const JsonValue& root, absl::string_view path) {
  const JsonValue* cur = &root;
  size_t i = 0;
  while (i < path.size() && cur != nullptr) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      size_t index = 0;
      if (close == absl::string_view::npos ||
          !absl::SimpleAtoi(path.substr(i + 1, close - i - 1), &index) || !cur->is_array() ||
          index >= cur->items().size()) {
        return nullptr;
      }
      cur = &cur->items()[index];
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == absl::string_view::npos) end = path.size();
    if (!cur->is_object()) return nullptr;
    cur = cur->Find(path.substr(i, end - i));
    i = end;
  }
  return cur;
}

std::string Text(const JsonValue& root, absl::string_view path) {
  const JsonValue* v = At(root, path);
  if (v == nullptr || !(v->is_string() || v->is_number())) return "<absent>";
  return v->text();
}

std::vector<const FhirResource*> OfType(const std::vector<FhirResource>& resources,
                                        absl::string_view type) {
  std::vector<const FhirResource*> out;
  for (const FhirResource& r : resources) {
    if (r.type == type) out.push_back(&r);
  }
  return out;
}

std::vector<std::string> JsonRuleViolations(const JsonValue& v, const std::string& path) {
  std::vector<std::string> out;
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      out.push_back(path + ": null");
      break;
    case JsonValue::Kind::kString:
      if (IsBlank(v.text())) out.push_back(path + ": blank string");
      break;
    case JsonValue::Kind::kArray:
      if (v.items().empty()) out.push_back(path + ": empty array");
      for (size_t i = 0; i < v.items().size(); ++i) {
        for (std::string& s : JsonRuleViolations(v.items()[i], absl::StrCat(path, "[", i, "]"))) {
          out.push_back(std::move(s));
        }
      }
      break;
    case JsonValue::Kind::kObject:
      if (v.members().empty()) out.push_back(path + ": empty object");
      for (const JsonValue::Member& m : v.members()) {
        for (std::string& s : JsonRuleViolations(m.second, absl::StrCat(path, ".", m.first))) {
          out.push_back(std::move(s));
        }
      }
      break;
    default:
      break;
  }
  return out;
}

bool IsWellFormedNarrative(absl::string_view x, std::string* why) {
  static const std::set<std::string> kAllowed = {"div",   "p",  "b",  "i",  "em",         "strong",
                                                 "br",    "ul", "ol", "li", "blockquote", "span",
                                                 "table", "tr", "td", "th", "thead",      "tbody"};
  const std::string open = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";
  if (!absl::StartsWith(x, open) || !absl::EndsWith(x, "</div>")) {
    *why = "not a <div> in the XHTML namespace";
    return false;
  }
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < x.size()) {
    const char c = x[i];
    if (c == '<') {
      const size_t end = x.find('>', i);
      if (end == absl::string_view::npos) {
        *why = "unterminated tag";
        return false;
      }
      absl::string_view tag = x.substr(i + 1, end - i - 1);
      const bool closing = absl::ConsumePrefix(&tag, "/");
      const bool empty = absl::ConsumeSuffix(&tag, "/");
      const std::string name(tag.substr(0, tag.find(' ')));
      if (kAllowed.count(name) == 0) {
        *why = "element <" + name + "> not allowed";
        return false;
      }
      if (closing) {
        if (stack.empty() || stack.back() != name) {
          *why = "unbalanced </" + name + ">";
          return false;
        }
        stack.pop_back();
      } else if (!empty) {
        stack.push_back(name);
      }
      i = end + 1;
    } else if (c == '&') {
      const size_t end = x.find(';', i);
      if (end == absl::string_view::npos) {
        *why = "unterminated entity";
        return false;
      }
      const absl::string_view ent = x.substr(i + 1, end - i - 1);
      int code = 0;
      const bool numeric =
          absl::StartsWith(ent, "#") && absl::SimpleAtoi(ent.substr(1), &code) && code > 0;
      if (!numeric && ent != "amp" && ent != "lt" && ent != "gt" && ent != "quot") {
        *why = "entity &" + std::string(ent) + "; not allowed";
        return false;
      }
      i = end + 1;
    } else if (c == '>' || c == '"' || c == '\'') {
      *why = std::string("raw '") + c + "' in text";
      return false;
    } else if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      *why = "control character in text";
      return false;
    } else {
      ++i;
    }
  }
  if (!stack.empty()) {
    *why = "unclosed <" + stack.back() + ">";
    return false;
  }
  if (!IsValidUtf8(x)) {
    *why = "not valid UTF-8";
    return false;
  }
  return true;
}

}  // namespace collabcare::fhir::testing
