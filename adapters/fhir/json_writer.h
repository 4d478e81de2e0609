// A small, fast JSON writer for the domain → FHIR mappers: appends compact JSON to a string,
// escapes text for JSON and (in narratives) for XHTML in one pass, formats FHIR instants, dates
// and decimals. Building an nlohmann::json DOM per resource was the slow part of mapping.
#ifndef COLLABCARE_ADAPTERS_FHIR_JSON_WRITER_H_
#define COLLABCARE_ADAPTERS_FHIR_JSON_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"

namespace collabcare::fhir {

// Appends `s` as the inside of a JSON string (no quotes). Invalid UTF-8 becomes U+FFFD and
// clears *utf8_ok.
void AppendJsonEscaped(absl::string_view s, std::string* out, bool* utf8_ok);

// Appends `s` as XHTML character data inside a JSON string: & < > " ' become entities, line
// breaks become <br/>, characters XML forbids (C0 controls, U+FFFE, U+FFFF) and invalid UTF-8
// become U+FFFD (the latter also clears *utf8_ok).
void AppendXhtmlEscaped(absl::string_view s, std::string* out, bool* utf8_ok);

// Appends `s` to a FHIR markdown value with the characters CommonMark would read as markup
// (\ ` * _ [ ] < > # ~ | &) backslash-escaped, so a person's words show as they wrote them.
void AppendMarkdownEscaped(absl::string_view s, std::string* out);

// Whether `s` is valid UTF-8.
bool IsValidUtf8(absl::string_view s);

// Whether `s` is empty or only whitespace as JavaScript's trim() sees it (FHIR validators such
// as @medplum/core reject such strings, and FHIR JSON forbids empty ones).
bool IsBlank(absl::string_view s);

// Appends a FHIR instant "YYYY-MM-DDThh:mm:ss[.fraction]Z" (UTC, trailing zeros of the fraction
// dropped). False if the year is outside 1..9999.
bool AppendInstant(const google::protobuf::Timestamp& ts, std::string* out);
// Appends the UTC date "YYYY-MM-DD". False if the year is outside 1..9999.
bool AppendDate(const google::protobuf::Timestamp& ts, std::string* out);
// Whether the timestamp was never set (0 seconds, 0 nanos).
inline bool IsUnset(const google::protobuf::Timestamp& ts) {
  return ts.seconds() == 0 && ts.nanos() == 0;
}

// Appends the shortest decimal text that reads back as `v`. False for NaN or infinity.
bool AppendDecimal(double v, std::string* out);

// Writes one JSON value into `*out`. Keys are trusted ASCII literals and are not escaped;
// every string value is escaped. The caller balances Begin/End. Errors (invalid UTF-8, an
// unrepresentable time or number) do not stop writing; the first is remembered.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  void BeginObject() {
    Comma();
    out_->push_back('{');
    comma_ = false;
  }
  void EndObject() {
    out_->push_back('}');
    comma_ = true;
  }
  void BeginArray() {
    Comma();
    out_->push_back('[');
    comma_ = false;
  }
  void EndArray() {
    out_->push_back(']');
    comma_ = true;
  }
  void Key(absl::string_view key) {
    Comma();
    out_->push_back('"');
    out_->append(key.data(), key.size());
    out_->append("\":", 2);
    comma_ = false;
  }
  void String(absl::string_view s) {
    Comma();
    out_->push_back('"');
    AppendJsonEscaped(s, out_, &utf8_ok_);
    out_->push_back('"');
    comma_ = true;
  }
  // A string value known to need no escaping (codes, URLs built from literals).
  void TrustedString(absl::string_view s) {
    Comma();
    out_->push_back('"');
    out_->append(s.data(), s.size());
    out_->push_back('"');
    comma_ = true;
  }
  void Int(int64_t v);
  void Bool(bool v) {
    Comma();
    out_->append(v ? "true" : "false");
    comma_ = true;
  }
  void Decimal(double v, absl::string_view where);
  // A number whose exact text is known and valid (preserved from a read).
  void RawNumber(absl::string_view text) { Raw(text); }
  // A complete, valid JSON value.
  void Raw(absl::string_view json) {
    Comma();
    out_->append(json.data(), json.size());
    comma_ = true;
  }
  void Instant(const google::protobuf::Timestamp& ts, absl::string_view where);
  void Date(const google::protobuf::Timestamp& ts, absl::string_view where);

  // "key": "value" shorthands.
  void Field(absl::string_view key, absl::string_view value) {
    Key(key);
    String(value);
  }
  void TrustedField(absl::string_view key, absl::string_view value) {
    Key(key);
    TrustedString(value);
  }

  // A narrative div as a JSON string value: BeginXhtml, then Markup/Text, then EndXhtml.
  void BeginXhtml();
  // Trusted markup such as "<p>" (no quotes or backslashes).
  void Markup(absl::string_view markup) { out_->append(markup.data(), markup.size()); }
  void Text(absl::string_view text) { AppendXhtmlEscaped(text, out_, &utf8_ok_); }
  void EndXhtml();

  // Remembers the first failure, naming where (a domain field path).
  void Fail(absl::string_view where) {
    if (error_.empty()) error_ = std::string(where);
  }
  bool utf8_ok() const { return utf8_ok_; }
  const std::string& error() const { return error_; }
  std::string* out() { return out_; }

 private:
  void Comma() {
    if (comma_) out_->push_back(',');
  }

  std::string* out_;
  bool comma_ = false;
  bool utf8_ok_ = true;
  std::string error_;
};

}  // namespace collabcare::fhir

#endif  // COLLABCARE_ADAPTERS_FHIR_JSON_WRITER_H_
