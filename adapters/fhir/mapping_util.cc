// Shared pieces of the domain → FHIR mappers.
#include "adapters/fhir/mapping_util.h"

#include <charconv>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/bundle.h"
#include "adapters/fhir/codes.h"
#include "adapters/fhir/json_writer.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"

namespace collabcare::fhir::internal {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool FindInvalid(const Message& m, std::string* path) {
  const Reflection* refl = m.GetReflection();
  const google::protobuf::Descriptor* desc = m.GetDescriptor();
  for (int i = 0; i < desc->field_count(); ++i) {
    const FieldDescriptor* f = desc->field(i);
    if (f->is_repeated()) {
      const int n = refl->FieldSize(m, f);
      for (int k = 0; k < n; ++k) {
        const std::string at = absl::StrCat(".", f->name(), "[", k, "]");
        if (f->type() == FieldDescriptor::TYPE_STRING) {
          if (!IsValidUtf8(refl->GetRepeatedString(m, f, k))) {
            path->append(at);
            return true;
          }
        } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          std::string sub = at;
          if (FindInvalid(refl->GetRepeatedMessage(m, f, k), &sub)) {
            path->append(sub);
            return true;
          }
        }
      }
      continue;
    }
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(refl->GetString(m, f))) {
        absl::StrAppend(path, ".", f->name());
        return true;
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && refl->HasField(m, f)) {
      std::string sub = absl::StrCat(".", f->name());
      if (FindInvalid(refl->GetMessage(m, f), &sub)) {
        path->append(sub);
        return true;
      }
    }
  }
  return false;
}

constexpr char kScoreUnit[] = "{score}";

}  // namespace

const v1::Participant* FindParticipant(const v1::Episode& episode, absl::string_view person) {
  for (const v1::Participant& p : episode.participants()) {
    if (p.person() == person) return &p;
  }
  return nullptr;
}

const v1::Participant* SubjectFor(const v1::Episode& episode, absl::string_view person) {
  const v1::Participant* first = nullptr;
  for (const v1::Participant& p : episode.participants()) {
    if (p.role() != v1::Participant::CLIENT || !absl::StartsWith(p.person(), "Patient/")) continue;
    if (p.person() == person) return &p;
    if (first == nullptr) first = &p;
  }
  return first;
}

absl::string_view DisplayName(const v1::Episode* episode, absl::string_view person) {
  if (episode != nullptr) {
    const v1::Participant* p = FindParticipant(*episode, person);
    if (p != nullptr && !IsBlank(p->display())) return p->display();
  }
  return person;
}

absl::string_view RelativeName(absl::string_view name) {
  if (!absl::StartsWith(name, "episodes/")) return name;
  const size_t slash = name.find('/', 9);
  if (slash == absl::string_view::npos) return name;
  return name.substr(slash + 1);
}

std::string FindInvalidUtf8(const Message& message, absl::string_view root) {
  std::string path(root);
  if (FindInvalid(message, &path)) return path;
  return "";
}

ResourceWriter::ResourceWriter(const MappingContext& ctx, absl::string_view type, std::string key,
                               bool key_is_tag, const v1::Episode* episode)
    : ctx_(ctx),
      episode_(episode != nullptr ? episode : ctx.episode),
      type_(type),
      key_(std::move(key)),
      key_is_tag_(key_is_tag),
      w_(&json_) {
  json_.reserve(2048);
  if (ctx_.preserved != nullptr) {
    auto it = ctx_.preserved->find(key_);
    if (it != ctx_.preserved->end()) preserved_ = &it->second;
  }
  w_.BeginObject();
  w_.TrustedField("resourceType", type_);
}

void ResourceWriter::Meta(absl::string_view profile) {
  w_.Key("meta");
  w_.BeginObject();
  if (!profile.empty()) {
    w_.Key("profile");
    w_.BeginArray();
    w_.String(profile);
    w_.EndArray();
  }
  w_.Key("security");
  w_.BeginArray();
  Coding(kV3Confidentiality, {"R", "restricted"});
  Coding(kV3ActCode, {"MH", "mental health information sensitivity"});
  w_.EndArray();
  if (key_is_tag_) {
    // Provenance and AuditEvent have no `identifier`: their key's urn:uuid (bundle.h) is a tag
    // in the URI system, searchable with _tag for conditional creates.
    w_.Key("tag");
    w_.BeginArray();
    w_.BeginObject();
    w_.TrustedField("system", "urn:ietf:rfc:3986");
    w_.Field("code", UuidForKey(ctx_.urls, key_));
    w_.EndObject();
    w_.EndArray();
  }
  w_.EndObject();
}

void ResourceWriter::Identifier(bool single) {
  w_.Key("identifier");
  if (!single) w_.BeginArray();
  w_.BeginObject();
  w_.Field("system", ctx_.urls.record_identifier);
  w_.Field("value", key_);
  w_.EndObject();
  if (!single) w_.EndArray();
}

void ResourceWriter::BeginNarrative() {
  w_.Key("text");
  w_.BeginObject();
  w_.TrustedField("status", "generated");
  w_.Key("div");
  w_.BeginXhtml();
}

void ResourceWriter::EndNarrative() {
  w_.EndXhtml();
  w_.EndObject();
}

void ResourceWriter::PersonRefBody(absl::string_view person) {
  w_.Field("reference", person);
  if (episode_ != nullptr) {
    const v1::Participant* p = FindParticipant(*episode_, person);
    if (p != nullptr && !IsBlank(p->display())) w_.Field("display", p->display());
  }
}

void ResourceWriter::PersonRef(absl::string_view key, absl::string_view person) {
  w_.Key(key);
  w_.BeginObject();
  PersonRefBody(person);
  w_.EndObject();
}

void ResourceWriter::RecordRefBody(absl::string_view type, absl::string_view identifier_value) {
  w_.TrustedField("type", type);
  w_.Key("identifier");
  w_.BeginObject();
  w_.Field("system", ctx_.urls.record_identifier);
  w_.Field("value", identifier_value);
  w_.EndObject();
}

void ResourceWriter::RecordRef(absl::string_view key, absl::string_view type,
                               absl::string_view identifier_value) {
  w_.Key(key);
  w_.BeginObject();
  RecordRefBody(type, identifier_value);
  w_.EndObject();
}

void ResourceWriter::Coding(absl::string_view system, Concept value_concept) {
  w_.BeginObject();
  w_.Field("system", system);
  w_.Field("code", value_concept.code);
  if (!value_concept.display.empty()) w_.Field("display", value_concept.display);
  w_.EndObject();
}

void ResourceWriter::CodeableConcept(absl::string_view system, Concept value_concept,
                                     absl::string_view text) {
  w_.BeginObject();
  w_.Key("coding");
  w_.BeginArray();
  Coding(system, value_concept);
  w_.EndArray();
  if (!IsBlank(text)) w_.Field("text", text);
  w_.EndObject();
}

void ResourceWriter::CodeableConceptField(absl::string_view key, absl::string_view system,
                                          Concept value_concept, absl::string_view text) {
  w_.Key(key);
  CodeableConcept(system, value_concept, text);
}

void ResourceWriter::DecimalAt(double value, absl::string_view path, absl::string_view where) {
  if (preserved_ != nullptr && !preserved_->decimals.empty()) {
    auto it = preserved_->decimals.find(path);
    if (it != preserved_->decimals.end()) {
      const std::string& text = it->second;
      double parsed = 0;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), parsed);
      if (r.ec == std::errc() && r.ptr == text.data() + text.size() && parsed == value) {
        w_.RawNumber(text);
        return;
      }
    }
  }
  w_.Decimal(value, where);
}

void ResourceWriter::ScoreQuantity(double value, absl::string_view path, absl::string_view where) {
  w_.BeginObject();
  w_.Key("value");
  DecimalAt(value, path, where);
  w_.TrustedField("unit", "score");
  w_.TrustedField("system", kUcum);
  w_.TrustedField("code", kScoreUnit);
  w_.EndObject();
}

void ResourceWriter::OptionalString(absl::string_view key, absl::string_view value) {
  if (!IsBlank(value)) w_.Field(key, value);
}

void ResourceWriter::ExtensionCoding(LazyArray& ext, absl::string_view url,
                                     absl::string_view system, Concept value_concept) {
  if (value_concept.code.empty()) return;
  ext.Item();
  w_.BeginObject();
  w_.Field("url", url);
  w_.Key("valueCoding");
  Coding(system, value_concept);
  w_.EndObject();
}

void ResourceWriter::ExtensionString(LazyArray& ext, absl::string_view url,
                                     absl::string_view value) {
  if (IsBlank(value)) return;
  ext.Item();
  w_.BeginObject();
  w_.Field("url", url);
  w_.Field("valueString", value);
  w_.EndObject();
}

void ResourceWriter::ExtensionPerson(LazyArray& ext, absl::string_view url,
                                     absl::string_view person) {
  if (person.empty()) return;
  ext.Item();
  w_.BeginObject();
  w_.Field("url", url);
  PersonRef("valueReference", person);
  w_.EndObject();
}

void ResourceWriter::ExtensionPositiveInt(LazyArray& ext, absl::string_view url, int64_t value) {
  if (value <= 0) return;
  ext.Item();
  w_.BeginObject();
  w_.Field("url", url);
  w_.Key("valuePositiveInt");
  w_.Int(value);
  w_.EndObject();
}

void ResourceWriter::PreservedExtensions(LazyArray& ext) {
  if (preserved_ == nullptr) return;
  for (const std::string& json : preserved_->extensions) {
    ext.Item();
    w_.Raw(json);
  }
}

void ResourceWriter::RevisionExtension(LazyArray& ext, int64_t revision) {
  ExtensionPositiveInt(ext, ctx_.urls.ext_record_revision, revision);
}

absl::StatusOr<FhirResource> ResourceWriter::Finish(const Message& record, absl::string_view root) {
  if (!w_.utf8_ok()) {
    std::string path = FindInvalidUtf8(record, root);
    if (path.empty() && episode_ != nullptr) {
      path = FindInvalidUtf8(*episode_, "episode");
    }
    return Finish(path.empty() ? root : absl::string_view(path));
  }
  return Finish(root);
}

absl::StatusOr<FhirResource> ResourceWriter::Finish(absl::string_view utf8_path) {
  w_.EndObject();
  if (!w_.utf8_ok()) {
    return absl::InvalidArgumentError(absl::StrCat(utf8_path, ": not valid UTF-8"));
  }
  if (!w_.error().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(w_.error(), ": missing or not representable in FHIR"));
  }
  FhirResource out;
  out.type = std::move(type_);
  out.key = std::move(key_);
  out.key_is_tag = key_is_tag_;
  out.json = std::move(json_);
  return out;
}

void NarratePerson(ResourceWriter& r, absl::string_view person) {
  const absl::string_view name = DisplayName(r.episode(), person);
  r.w().Text(name);
  if (name != person) {
    r.w().Markup(" (");
    r.w().Text(person);
    r.w().Markup(")");
  }
}

}  // namespace collabcare::fhir::internal
