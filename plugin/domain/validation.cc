// Field validation shared by every rule.
#include "plugin/domain/validation.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace collabcare::domain {
namespace {

bool IsIdChar(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-'; }

bool IsRecordId(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (char c : id) {
    if (!IsIdChar(c)) return false;
  }
  return true;
}

// Returns false for invalid UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF)
// and for NUL characters.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    unsigned int cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status ValidateText(absl::string_view value, absl::string_view field, bool required,
                          size_t max_bytes) {
  if (value.size() > max_bytes) {
    return FieldError(field, absl::StrCat("must be at most ", max_bytes, " bytes of UTF-8"));
  }
  if (!IsValidUtf8(value)) return FieldError(field, "must be valid UTF-8 without NUL");
  if (required && absl::StripAsciiWhitespace(value).empty()) {
    return FieldError(field, "is required");
  }
  return absl::OkStatus();
}

absl::Status ValidatePersonReference(absl::string_view value, absl::string_view field) {
  if (value.empty()) return FieldError(field, "is required");
  std::vector<absl::string_view> parts = absl::StrSplit(value, '/');
  static constexpr absl::string_view kTypes[] = {"Patient", "RelatedPerson", "Practitioner",
                                                 "PractitionerRole", "Person"};
  bool type_ok = false;
  if (parts.size() == 2) {
    for (absl::string_view t : kTypes) type_ok = type_ok || parts[0] == t;
  }
  if (!type_ok) {
    return FieldError(field,
                      "must be a FHIR reference such as Patient/123 (Patient, RelatedPerson, "
                      "Practitioner, PractitionerRole or Person)");
  }
  absl::string_view id = parts[1];
  bool id_ok = !id.empty() && id.size() <= 64;
  for (char c : id) {
    id_ok = id_ok && (absl::ascii_isalnum(c) || c == '-' || c == '.');
  }
  if (!id_ok) return FieldError(field, "has an id that is not a FHIR id ([A-Za-z0-9-.]{1,64})");
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view value, absl::string_view field) {
  if (value.size() > kMaxRequestIdBytes) {
    return FieldError(field, "must be at most 128 characters");
  }
  for (char c : value) {
    if (!(absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-')) {
      return FieldError(field, "may hold only letters, digits and . _ : -");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDate(absl::string_view value, absl::string_view field) {
  int y = 0, m = 0, d = 0;
  std::vector<absl::string_view> parts = absl::StrSplit(value, '-');
  // SimpleAtoi alone would also take a sign or surrounding spaces ("2026-+2-01", "2026- 2-01"),
  // so every part must be digits only.
  const auto digits = [](absl::string_view part) {
    for (char c : part) {
      if (!absl::ascii_isdigit(c)) return false;
    }
    return true;
  };
  const bool shape = value.size() == 10 && parts.size() == 3 && parts[0].size() == 4 &&
                     parts[1].size() == 2 && parts[2].size() == 2 && digits(parts[0]) &&
                     digits(parts[1]) && digits(parts[2]) && absl::SimpleAtoi(parts[0], &y) &&
                     absl::SimpleAtoi(parts[1], &m) && absl::SimpleAtoi(parts[2], &d);
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!shape || y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > kDays[m - 1] ||
      (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))) {
    return FieldError(field, "must be a date YYYY-MM-DD");
  }
  return absl::OkStatus();
}

absl::Status ValidateScore(double value, absl::string_view field) {
  if (!std::isfinite(value) || value < 0 || value > 10) {
    return FieldError(field, "must be between 0 and 10");
  }
  const double tenths = value * 10;
  if (std::fabs(tenths - std::round(tenths)) > 1e-6) {
    return FieldError(field, "must have at most one decimal place");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ParseEpisodeName(absl::string_view name, absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 2 || parts[0] != "episodes" || !IsRecordId(parts[1])) {
    return FieldError(field, "must be a resource name episodes/{episode}");
  }
  return std::string(parts[1]);
}

absl::StatusOr<ChildName> ParseChildName(absl::string_view name, absl::string_view collection,
                                         absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != 4 || parts[0] != "episodes" || !IsRecordId(parts[1]) ||
      parts[2] != collection || !IsRecordId(parts[3])) {
    return FieldError(
        field, absl::StrCat("must be a resource name episodes/{episode}/", collection, "/{id}"));
  }
  return ChildName{std::string(parts[1]), std::string(parts[3])};
}

std::string EpisodeName(absl::string_view episode_id) {
  return absl::StrCat("episodes/", episode_id);
}

std::string ChildResourceName(absl::string_view episode_id, absl::string_view collection,
                              absl::string_view id) {
  return absl::StrCat("episodes/", episode_id, "/", collection, "/", id);
}

}  // namespace collabcare::domain
