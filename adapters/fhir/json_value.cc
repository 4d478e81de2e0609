// JsonValue: a SAX handler that builds the document with exact number text, and a serializer.
#include "adapters/fhir/json_value.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/json_writer.h"
#include "nlohmann/json.hpp"

namespace collabcare::fhir {
namespace {

// Builds a JsonValue from nlohmann's SAX events. Returning false stops the parse; the first
// problem is kept in `error`.
class Builder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return Put(JsonValue::Null()); }
  bool boolean(bool v) override { return Put(JsonValue::Bool(v)); }
  bool number_integer(number_integer_t v) override {
    return Put(JsonValue::Number(std::to_string(v)));
  }
  bool number_unsigned(number_unsigned_t v) override {
    return Put(JsonValue::Number(std::to_string(v)));
  }
  bool number_float(number_float_t, const string_t& text) override {
    return Put(JsonValue::Number(text));
  }
  bool string(string_t& v) override { return Put(JsonValue::String(std::move(v))); }
  bool binary(binary_t&) override { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) override { return Open(JsonValue::Object()); }
  bool key(string_t& k) override {
    pending_key_ = std::move(k);
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(JsonValue::Array()); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    if (error.empty()) error = absl::StrCat("malformed JSON at byte ", position);
    return false;
  }

  JsonValue root;
  bool have_root = false;
  std::string error;

 private:
  bool Fail(absl::string_view why) {
    if (error.empty()) error = std::string(why);
    return false;
  }
  // Adds a complete value to the innermost open container (or makes it the root).
  bool Put(JsonValue v) {
    if (stack_.empty()) {
      root = std::move(v);
      have_root = true;
      return true;
    }
    JsonValue& top = *stack_.back();
    if (top.is_array()) {
      top.Push(std::move(v));
    } else {
      top.Add(std::move(pending_key_), std::move(v));
    }
    return true;
  }
  bool Open(JsonValue v) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonDepth) {
      return Fail(absl::StrCat("JSON nested deeper than ", kMaxJsonDepth));
    }
    JsonValue* slot;
    if (stack_.empty()) {
      root = std::move(v);
      have_root = true;
      slot = &root;
    } else {
      JsonValue& top = *stack_.back();
      slot = top.is_array() ? &top.Push(std::move(v))
                            : &top.Add(std::move(pending_key_), std::move(v));
    }
    stack_.push_back(slot);
    return true;
  }
  bool Close() {
    JsonValue* done = stack_.back();
    stack_.pop_back();
    if (done->is_object() && done->members().size() > 1) {
      std::vector<absl::string_view> keys;
      keys.reserve(done->members().size());
      for (const JsonValue::Member& m : done->members()) keys.push_back(m.first);
      std::sort(keys.begin(), keys.end());
      if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
        return Fail("duplicate key in a JSON object");
      }
    }
    return true;
  }

  // Pointers stay valid: a container's children vector only grows while it is the innermost
  // open container, and an open child is always the last element of its parent.
  std::vector<JsonValue*> stack_;
  std::string pending_key_;
};

void Indent(int depth, std::string* out) {
  out->push_back('\n');
  out->append(static_cast<size_t>(depth) * 2, ' ');
}

void Serialize(const JsonValue& v, bool pretty, int depth, std::string* out) {
  bool ok = true;
  switch (v.kind()) {
    case JsonValue::Kind::kNull:
      out->append("null");
      return;
    case JsonValue::Kind::kBool:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case JsonValue::Kind::kNumber:
      out->append(v.text());
      return;
    case JsonValue::Kind::kString:
      out->push_back('"');
      AppendJsonEscaped(v.text(), out, &ok);
      out->push_back('"');
      return;
    case JsonValue::Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const JsonValue& item : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        if (pretty) Indent(depth + 1, out);
        Serialize(item, pretty, depth + 1, out);
      }
      if (pretty && !v.items().empty()) Indent(depth, out);
      out->push_back(']');
      return;
    }
    case JsonValue::Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const JsonValue::Member& m : v.members()) {
        if (!first) out->push_back(',');
        first = false;
        if (pretty) Indent(depth + 1, out);
        out->push_back('"');
        AppendJsonEscaped(m.first, out, &ok);
        out->append(pretty ? "\": " : "\":");
        Serialize(m.second, pretty, depth + 1, out);
      }
      if (pretty && !v.members().empty()) Indent(depth, out);
      out->push_back('}');
      return;
    }
  }
}

}  // namespace

JsonValue JsonValue::Bool(bool v) {
  JsonValue j;
  j.kind_ = Kind::kBool;
  j.bool_ = v;
  return j;
}
JsonValue JsonValue::Number(std::string text) {
  JsonValue j;
  j.kind_ = Kind::kNumber;
  j.text_ = std::move(text);
  return j;
}
JsonValue JsonValue::String(std::string v) {
  JsonValue j;
  j.kind_ = Kind::kString;
  j.text_ = std::move(v);
  return j;
}
JsonValue JsonValue::Array() {
  JsonValue j;
  j.kind_ = Kind::kArray;
  return j;
}
JsonValue JsonValue::Object() {
  JsonValue j;
  j.kind_ = Kind::kObject;
  return j;
}

const JsonValue* JsonValue::Find(absl::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

JsonValue* JsonValue::Find(absl::string_view key) {
  for (Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

JsonValue& JsonValue::Add(std::string key, JsonValue value) {
  members_.emplace_back(std::move(key), std::move(value));
  return members_.back().second;
}

JsonValue& JsonValue::Push(JsonValue value) {
  items_.push_back(std::move(value));
  return items_.back();
}

void JsonValue::Remove(absl::string_view key) {
  members_.erase(std::remove_if(members_.begin(), members_.end(),
                                [&](const Member& m) { return m.first == key; }),
                 members_.end());
}

bool JsonValue::operator==(const JsonValue& other) const {
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return bool_ == other.bool_;
    case Kind::kNumber:
    case Kind::kString:
      return text_ == other.text_;
    case Kind::kArray:
      return items_ == other.items_;
    case Kind::kObject:
      if (members_.size() != other.members_.size()) return false;
      for (const Member& m : members_) {
        const JsonValue* o = other.Find(m.first);
        if (o == nullptr || !(m.second == *o)) return false;
      }
      return true;
  }
  return false;
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) {
  Builder builder;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                   nlohmann::json::input_format_t::json, /*strict=*/true);
  } catch (const std::exception&) {
    // sax_parse reports syntax errors through parse_error; anything thrown (e.g. bad_alloc) is
    // stopped here so no exception leaves the adapter.
    ok = false;
    if (builder.error.empty()) builder.error = "JSON could not be parsed";
  }
  if (!ok || !builder.have_root) {
    return absl::InvalidArgumentError(builder.error.empty() ? "malformed JSON" : builder.error);
  }
  return std::move(builder.root);
}

std::string SerializeJson(const JsonValue& value, bool pretty) {
  std::string out;
  SerializeJson(value, pretty, &out);
  return out;
}

void SerializeJson(const JsonValue& value, bool pretty, std::string* out) {
  Serialize(value, pretty, 0, out);
}

}  // namespace collabcare::fhir
