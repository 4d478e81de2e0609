// Element access with paths, references, codes, extensions and fidelity for the readers.
#include "adapters/fhir/read_util.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/fhir/json_writer.h"
#include "plugin/domain/timestamps.h"
#include "plugin/domain/validation.h"

namespace collabcare::fhir::internal {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// "https://ehr.example/fhir/Patient/1/_history/3" → "Patient/1"; "Patient/1" stays.
std::string LocalReference(absl::string_view ref) {
  std::vector<absl::string_view> parts = absl::StrSplit(ref, '/');
  if (parts.size() >= 4 && parts[parts.size() - 2] == "_history") parts.resize(parts.size() - 2);
  if (parts.size() < 2) return std::string(ref);
  return absl::StrCat(parts[parts.size() - 2], "/", parts[parts.size() - 1]);
}

}  // namespace

Elem Elem::Get(absl::string_view key) const {
  const JsonValue* child = (v_ != nullptr && v_->is_object()) ? v_->Find(key) : nullptr;
  return Elem(child, absl::StrCat(path_, ".", key));
}

Elem Elem::Index(size_t i) const {
  const JsonValue* child =
      (v_ != nullptr && v_->is_array() && i < v_->items().size()) ? &v_->items()[i] : nullptr;
  return Elem(child, absl::StrCat(path_, "[", i, "]"));
}

absl::Status Elem::Error(absl::string_view problem) const {
  return absl::InvalidArgumentError(absl::StrCat(path_, ": ", problem));
}

absl::StatusOr<std::string> Elem::RequiredString() const {
  if (v_ == nullptr) return Error("is required");
  if (!v_->is_string()) return Error("must be a string");
  if (IsBlank(v_->text())) return Error("must not be empty");
  return v_->text();
}

absl::StatusOr<std::string> Elem::OptionalString() const {
  if (v_ == nullptr) return std::string();
  return RequiredString();
}

absl::StatusOr<std::vector<Elem>> Elem::Items(bool required) const {
  std::vector<Elem> out;
  if (v_ == nullptr) {
    if (required) return Error("is required");
    return out;
  }
  if (!v_->is_array()) return Error("must be an array");
  if (v_->items().empty()) return Error("must not be an empty array");
  out.reserve(v_->items().size());
  for (size_t i = 0; i < v_->items().size(); ++i) out.push_back(Index(i));
  return out;
}

absl::Status Elem::Object(bool required) const {
  if (v_ == nullptr) return required ? Error("is required") : absl::OkStatus();
  if (!v_->is_object()) return Error("must be an object");
  if (v_->members().empty()) return Error("must not be an empty object");
  return absl::OkStatus();
}

absl::StatusOr<double> Elem::Number(std::string* decimal_text) const {
  if (v_ == nullptr) return Error("is required");
  if (!v_->is_number()) return Error("must be a number");
  const std::string& text = v_->text();
  double value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(value)) {
    return Error("must be a finite decimal");
  }
  if (decimal_text != nullptr) *decimal_text = text;
  return value;
}

absl::StatusOr<int64_t> Elem::PositiveInt() const {
  if (v_ == nullptr) return Error("is required");
  if (!v_->is_number()) return Error("must be a number");
  const std::string& text = v_->text();
  int64_t value = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || value < 1) {
    return Error("must be a positive integer");
  }
  return value;
}

absl::StatusOr<google::protobuf::Timestamp> Elem::Instant() const {
  absl::StatusOr<std::string> text = RequiredString();
  if (!text.ok()) return text.status();
  absl::Time t;
  std::string err;
  if (text->size() < 20 || !absl::ParseTime(absl::RFC3339_full, *text, &t, &err)) {
    return Error("must be a date and time with a time zone");
  }
  google::protobuf::Timestamp ts;
  domain::ToTimestamp(t, &ts);
  return ts;
}

absl::StatusOr<JsonValue> ParseResource(absl::string_view json, absl::string_view type) {
  absl::StatusOr<JsonValue> v = ParseJson(json);
  if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat(type, ": ", v.status().message()));
  if (!v->is_object()) return absl::InvalidArgumentError(absl::StrCat(type, ": must be an object"));
  const JsonValue* rt = v->Find("resourceType");
  if (rt == nullptr || !rt->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(type, ".resourceType: is required"));
  }
  if (rt->text() != type) {
    return absl::InvalidArgumentError(absl::StrCat(type, ".resourceType: must be ", type));
  }
  return v;
}

absl::StatusOr<std::string> CodeFrom(const Elem& cc, absl::string_view system) {
  if (absl::Status s = cc.Object(true); !s.ok()) return s;
  absl::StatusOr<std::vector<Elem>> codings = cc.Get("coding").Items(true);
  if (!codings.ok()) return codings.status();
  for (const Elem& coding : *codings) {
    if (absl::Status s = coding.Object(true); !s.ok()) return s;
    absl::StatusOr<std::string> sys = coding.Get("system").OptionalString();
    if (!sys.ok()) return sys.status();
    if (*sys != system) continue;
    return coding.Get("code").RequiredString();
  }
  return cc.Get("coding").Error(absl::StrCat("has no code from ", system));
}

absl::StatusOr<std::string> PersonFrom(const Elem& reference, const v1::Episode& episode,
                                       std::initializer_list<v1::Participant::Role> roles) {
  if (absl::Status s = reference.Object(true); !s.ok()) return s;
  const Elem ref = reference.Get("reference");
  absl::StatusOr<std::string> text = ref.RequiredString();
  if (!text.ok()) return text.status();
  const std::string person = LocalReference(*text);
  if (!domain::ValidatePersonReference(person, "reference").ok()) {
    return ref.Error("must be a reference to a person (Patient, RelatedPerson, Practitioner …)");
  }
  for (const v1::Participant& p : episode.participants()) {
    if (p.person() != person) continue;
    if (roles.size() == 0) return person;
    for (v1::Participant::Role role : roles) {
      if (p.role() == role) return person;
    }
    return ref.Error("names a participant without the role this element needs");
  }
  return ref.Error("is not a participant of the episode");
}

absl::StatusOr<std::string> RecordKeyFrom(const Elem& reference, absl::string_view type,
                                          const CanonicalUrls& urls) {
  if (absl::Status s = reference.Object(true); !s.ok()) return s;
  const Elem t = reference.Get("type");
  if (t.present()) {
    absl::StatusOr<std::string> tt = t.RequiredString();
    if (!tt.ok()) return tt.status();
    if (!type.empty() && *tt != type) return t.Error(absl::StrCat("must be ", type));
  }
  const Elem id = reference.Get("identifier");
  if (id.present()) {
    if (absl::Status s = id.Object(true); !s.ok()) return s;
    absl::StatusOr<std::string> system = id.Get("system").RequiredString();
    if (!system.ok()) return system.status();
    if (*system != urls.record_identifier) {
      return id.Get("system").Error("must be collabcare's record identifier system");
    }
    return id.Get("value").RequiredString();
  }
  const Elem ref = reference.Get("reference");
  absl::StatusOr<std::string> text = ref.OptionalString();
  if (!text.ok()) return text.status();
  const std::string prefix = absl::StrCat(type, "?identifier=");
  if (!type.empty() && absl::StartsWith(*text, prefix)) {
    const std::string query = PercentDecode(absl::string_view(*text).substr(prefix.size()));
    const size_t bar = query.find('|');
    if (bar != std::string::npos && query.substr(0, bar) == urls.record_identifier &&
        bar + 1 < query.size()) {
      return query.substr(bar + 1);
    }
  }
  return reference.Error("must identify a collabcare record by its identifier");
}

absl::StatusOr<std::string> IdentifierFrom(const Elem& resource, const CanonicalUrls& urls,
                                           bool single) {
  const Elem ids = resource.Get("identifier");
  std::vector<Elem> candidates;
  if (single) {
    if (absl::Status s = ids.Object(true); !s.ok()) return s;
    candidates.push_back(ids);
  } else {
    absl::StatusOr<std::vector<Elem>> items = ids.Items(true);
    if (!items.ok()) return items.status();
    candidates = *std::move(items);
  }
  for (const Elem& id : candidates) {
    if (absl::Status s = id.Object(true); !s.ok()) return s;
    absl::StatusOr<std::string> system = id.Get("system").OptionalString();
    if (!system.ok()) return system.status();
    if (*system == urls.record_identifier) return id.Get("value").RequiredString();
  }
  return ids.Error("has no collabcare record identifier");
}

absl::Status Extensions(
    const Elem& resource, Preserved* preserved,
    const std::function<absl::StatusOr<bool>(const std::string& url, const Elem& ext)>& handle) {
  absl::StatusOr<std::vector<Elem>> exts = resource.Get("extension").Items(false);
  if (!exts.ok()) return exts.status();
  for (const Elem& ext : *exts) {
    if (absl::Status s = ext.Object(true); !s.ok()) return s;
    absl::StatusOr<std::string> url = ext.Get("url").RequiredString();
    if (!url.ok()) return url.status();
    absl::StatusOr<bool> handled = handle(*url, ext);
    if (!handled.ok()) return handled.status();
    if (!*handled) {
      preserved->extensions.push_back(SerializeJson(*ext.value()));
      continue;
    }
    // ext-1: a value or nested extensions, not both; and never two values.
    int values = 0;
    for (const JsonValue::Member& m : ext.value()->members()) {
      if (absl::StartsWith(m.first, "value")) {
        ++values;
      } else if (m.first != "url" && m.first != "id" && m.first != "extension") {
        preserved->reported.push_back(absl::StrCat(ext.path(), ".", m.first));
      }
    }
    const bool nested = ext.Get("extension").present();
    if ((nested && values != 0) || (!nested && values != 1)) {
      return ext.Error("must hold exactly one value[x]");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckElements(const Elem& resource, std::initializer_list<absl::string_view> known,
                           Preserved* preserved) {
  if (resource.Get("modifierExtension").present()) {
    return resource.Get("modifierExtension").Error("collabcare understands no modifier extension");
  }
  static constexpr absl::string_view kAlways[] = {
      "resourceType", "id", "meta", "text", "extension", "identifier", "language", "implicitRules"};
  if (resource.Get("implicitRules").present()) {
    return resource.Get("implicitRules").Error("collabcare cannot apply implicit rules");
  }
  for (const JsonValue::Member& m : resource.value()->members()) {
    bool ok = false;
    for (absl::string_view k : kAlways) ok = ok || m.first == k;
    for (absl::string_view k : known) ok = ok || m.first == k;
    if (!ok) preserved->reported.push_back(absl::StrCat(resource.path(), ".", m.first));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SplitKey(absl::string_view key, absl::string_view collection,
                                     absl::string_view marker, std::string* rest,
                                     const Elem& where) {
  std::vector<absl::string_view> parts = absl::StrSplit(key, absl::MaxSplits('/', 5));
  const bool has_rest = !marker.empty();
  if (parts.size() < 4 || (has_rest && (parts.size() != 6 || parts[4] != marker)) ||
      (!has_rest && parts.size() != 4)) {
    return where.Error(absl::StrCat("must be a collabcare key episodes/{e}/", collection, "/{id}",
                                    has_rest ? absl::StrCat("/", marker, "/…") : ""));
  }
  const std::string name = absl::StrCat(parts[0], "/", parts[1], "/", parts[2], "/", parts[3]);
  if (!domain::ParseChildName(name, collection, "name").ok()) {
    return where.Error(absl::StrCat("must name a record episodes/{e}/", collection, "/{id}"));
  }
  if (rest != nullptr) *rest = has_rest ? std::string(parts[5]) : "";
  return name;
}

bool InEpisode(absl::string_view name, const v1::Episode& episode) {
  return absl::StartsWith(name, absl::StrCat(episode.name(), "/"));
}

bool Known(const ReadContext& ctx, absl::string_view name) {
  return ctx.known_names != nullptr && ctx.known_names->contains(name);
}

}  // namespace collabcare::fhir::internal
