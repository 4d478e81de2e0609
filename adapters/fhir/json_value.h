// A JSON document model for reading FHIR: numbers keep their exact text (FHIR decimals are
// exact, so 7.50 stays "7.50"), object members keep their order, duplicate keys and deep
// nesting are refused. Parsed with nlohmann's SAX interface without exceptions escaping.
#ifndef COLLABCARE_ADAPTERS_FHIR_JSON_VALUE_H_
#define COLLABCARE_ADAPTERS_FHIR_JSON_VALUE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace collabcare::fhir {

class JsonValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool v);
  static JsonValue Number(std::string text);  // text must be a valid JSON number
  static JsonValue String(std::string v);
  static JsonValue Array();
  static JsonValue Object();

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_number() const { return kind_ == Kind::kNumber; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool bool_value() const { return bool_; }
  // The string's value, or a number's exact text.
  const std::string& text() const { return text_; }
  const std::vector<JsonValue>& items() const { return items_; }
  std::vector<JsonValue>& items() { return items_; }
  const std::vector<Member>& members() const { return members_; }
  std::vector<Member>& members() { return members_; }

  // The member named `key`, or nullptr (objects only).
  const JsonValue* Find(absl::string_view key) const;
  JsonValue* Find(absl::string_view key);
  // Appends a member (objects only); the caller keeps keys unique.
  JsonValue& Add(std::string key, JsonValue value);
  // Appends an item (arrays only).
  JsonValue& Push(JsonValue value);
  // Removes the member named `key`, if any.
  void Remove(absl::string_view key);

  // Equal by content: same kinds, same strings, numbers with the same exact text, objects with
  // the same members in any order, arrays in the same order.
  bool operator==(const JsonValue& other) const;
  bool operator!=(const JsonValue& other) const { return !(*this == other); }

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

// The deepest nesting ParseJson accepts (FHIR resources are far shallower).
inline constexpr int kMaxJsonDepth = 64;

// Parses one JSON text. INVALID_ARGUMENT for malformed JSON (naming the byte offset), nesting
// deeper than kMaxJsonDepth and duplicate keys; never throws.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

// Serializes compactly, or with two-space indentation when `pretty`.
std::string SerializeJson(const JsonValue& value, bool pretty = false);
void SerializeJson(const JsonValue& value, bool pretty, std::string* out);

}  // namespace collabcare::fhir

#endif  // COLLABCARE_ADAPTERS_FHIR_JSON_VALUE_H_
