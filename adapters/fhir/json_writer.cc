// Escaping, UTF-8 checks and FHIR date/time/decimal formatting for JsonWriter.
#include "adapters/fhir/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace collabcare::fhir {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i] (i < s.size(), s[i] >= 0x80), or 0.
// Follows RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) -> unsigned { return static_cast<unsigned char>(s[i + k]); };
  const size_t left = s.size() - i;
  const unsigned c = b(0);
  const auto cont = [&](size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;
    if (c == 0xED && b(1) > 0x9F) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;
    if (c == 0xF4 && b(1) > 0x8F) return 0;
    return 4;
  }
  return 0;
}

// Days since 1970-01-01 → civil date (H. Hinnant, "chrono-Compatible Low-Level Date
// Algorithms", civil_from_days).
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2 ? 1 : 0);
}

void Append2(unsigned v, std::string* out) {
  out->push_back(static_cast<char>('0' + v / 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

// Splits a timestamp into date and seconds of the day; false if the year is outside 1..9999.
bool Split(const google::protobuf::Timestamp& ts, int64_t* y, unsigned* m, unsigned* d,
           int64_t* secs_of_day) {
  int64_t days = ts.seconds() / 86400;
  int64_t rem = ts.seconds() % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  CivilFromDays(days, y, m, d);
  *secs_of_day = rem;
  return *y >= 1 && *y <= 9999;
}

void AppendYmd(int64_t y, unsigned m, unsigned d, std::string* out) {
  const unsigned year = static_cast<unsigned>(y);
  out->push_back(static_cast<char>('0' + year / 1000));
  out->push_back(static_cast<char>('0' + year / 100 % 10));
  Append2(year % 100, out);
  out->push_back('-');
  Append2(m, out);
  out->push_back('-');
  Append2(d, out);
}

}  // namespace

void AppendMarkdownEscaped(absl::string_view s, std::string* out) {
  for (const char c : s) {
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '#':
      case '~':
      case '|':
      case '&':
        out->push_back('\\');
        break;
      default:
        break;
    }
    out->push_back(c);
  }
}

bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool IsBlank(absl::string_view s) {
  // JavaScript's String.prototype.trim() whitespace: ASCII \t \n \v \f \r and space, U+00A0,
  // U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000 and U+FEFF.
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || (c >= '\t' && c <= '\r')) {
      ++i;
      continue;
    }
    const absl::string_view rest = s.substr(i);
    if (rest.substr(0, 2) == "\xC2\xA0") {
      i += 2;
      continue;
    }
    if (rest.size() >= 3) {
      const unsigned char b0 = c, b1 = static_cast<unsigned char>(rest[1]),
                          b2 = static_cast<unsigned char>(rest[2]);
      const bool space = (b0 == 0xE1 && b1 == 0x9A && b2 == 0x80) ||  // U+1680
                         (b0 == 0xE2 && b1 == 0x80 &&
                          (b2 <= 0x8A || b2 == 0xA8 ||                // U+2000–200A, 2028
                           b2 == 0xA9 || b2 == 0xAF)) ||              // U+2029, 202F
                         (b0 == 0xE2 && b1 == 0x81 && b2 == 0x9F) ||  // U+205F
                         (b0 == 0xE3 && b1 == 0x80 && b2 == 0x80) ||  // U+3000
                         (b0 == 0xEF && b1 == 0xBB && b2 == 0xBF);    // U+FEFF
      if (space) {
        i += 3;
        continue;
      }
    }
    return false;
  }
  return true;
}

void AppendJsonEscaped(absl::string_view s, std::string* out, bool* utf8_ok) {
  size_t run = 0;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(s, i);
      if (len != 0) {
        i += len;
        continue;
      }
      out->append(s.data() + run, i - run);
      out->append(kReplacement);
      *utf8_ok = false;
      run = ++i;
      continue;
    }
    out->append(s.data() + run, i - run);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, 6);
      }
    }
    run = ++i;
  }
  out->append(s.data() + run, n - run);
}

void AppendXhtmlEscaped(absl::string_view s, std::string* out, bool* utf8_ok) {
  size_t run = 0;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '&' && c != '<' && c != '>' &&
        c != '\'') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(s, i);
      // U+FFFE and U+FFFF (EF BF BE/BF) are not XML characters.
      const bool nonchar = len == 3 && c == 0xEF && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
                           static_cast<unsigned char>(s[i + 2]) >= 0xBE;
      if (len != 0 && !nonchar) {
        i += len;
        continue;
      }
      out->append(s.data() + run, i - run);
      out->append(kReplacement);
      if (len == 0) {
        *utf8_ok = false;
        ++i;
      } else {
        i += len;
      }
      run = i;
      continue;
    }
    out->append(s.data() + run, i - run);
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&#39;");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("<br/>");
        break;
      case '\r':
        if (i + 1 >= n || s[i + 1] != '\n') out->append("<br/>");
        break;
      default:
        out->append(kReplacement);  // XML 1.0 allows no other C0 control
    }
    run = ++i;
  }
  out->append(s.data() + run, n - run);
}

bool AppendInstant(const google::protobuf::Timestamp& ts, std::string* out) {
  int64_t y;
  unsigned m, d;
  int64_t sod;
  if (!Split(ts, &y, &m, &d, &sod)) return false;
  AppendYmd(y, m, d, out);
  out->push_back('T');
  Append2(static_cast<unsigned>(sod / 3600), out);
  out->push_back(':');
  Append2(static_cast<unsigned>(sod / 60 % 60), out);
  out->push_back(':');
  Append2(static_cast<unsigned>(sod % 60), out);
  int32_t nanos = ts.nanos();
  if (nanos > 0 && nanos < 1000000000) {
    char frac[10];
    frac[0] = '.';
    for (int k = 9; k >= 1; --k) {
      frac[k] = static_cast<char>('0' + nanos % 10);
      nanos /= 10;
    }
    int len = 10;
    while (frac[len - 1] == '0') --len;
    out->append(frac, len);
  }
  out->push_back('Z');
  return true;
}

bool AppendDate(const google::protobuf::Timestamp& ts, std::string* out) {
  int64_t y;
  unsigned m, d;
  int64_t sod;
  if (!Split(ts, &y, &m, &d, &sod)) return false;
  AppendYmd(y, m, d, out);
  return true;
}

bool AppendDecimal(double v, std::string* out) {
  if (!std::isfinite(v)) return false;
  char buf[32];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
  return true;
}

void JsonWriter::Int(int64_t v) {
  Comma();
  char buf[24];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  out_->append(buf, r.ptr);
  comma_ = true;
}

void JsonWriter::Decimal(double v, absl::string_view where) {
  Comma();
  if (!AppendDecimal(v, out_)) {
    out_->push_back('0');
    Fail(where);
  }
  comma_ = true;
}

void JsonWriter::Instant(const google::protobuf::Timestamp& ts, absl::string_view where) {
  Comma();
  out_->push_back('"');
  if (!AppendInstant(ts, out_)) {
    out_->append("1970-01-01T00:00:00Z");
    Fail(where);
  }
  out_->push_back('"');
  comma_ = true;
}

void JsonWriter::Date(const google::protobuf::Timestamp& ts, absl::string_view where) {
  Comma();
  out_->push_back('"');
  if (!AppendDate(ts, out_)) {
    out_->append("1970-01-01");
    Fail(where);
  }
  out_->push_back('"');
  comma_ = true;
}

void JsonWriter::BeginXhtml() {
  Comma();
  out_->append("\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">");
}

void JsonWriter::EndXhtml() {
  out_->append("</div>\"");
  comma_ = true;
}

}  // namespace collabcare::fhir
