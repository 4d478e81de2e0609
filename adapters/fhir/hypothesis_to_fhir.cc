// Hypothesis → ClinicalImpression per revision (+ Condition for a coded PROFESSIONAL
// hypothesis) + one Observation per response.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/codes.h"
#include "adapters/fhir/json_writer.h"
#include "adapters/fhir/mapping.h"
#include "adapters/fhir/mapping_util.h"
#include "plugin/common/status_macros.h"

namespace collabcare::fhir {
namespace {

using internal::LazyArray;
using internal::NarratePerson;
using internal::ResourceWriter;

std::string RevisionKey(const v1::Hypothesis& h, int64_t revision) {
  return absl::StrCat(h.name(), "/revisions/", revision < 1 ? 1 : revision);
}

bool HasCode(const v1::Hypothesis& h) {
  return h.has_code() && !IsBlank(h.code().code()) && !IsBlank(h.code().system());
}

bool MapsToCondition(const v1::Hypothesis& h) {
  return h.kind() == v1::Hypothesis::PROFESSIONAL && HasCode(h);
}

void CodeConcept(ResourceWriter& r, const v1::Code& code) {
  JsonWriter& w = r.w();
  w.BeginObject();
  w.Key("coding");
  w.BeginArray();
  w.BeginObject();
  w.Field("system", code.system());
  w.Field("code", code.code());
  r.OptionalString("display", code.display());
  w.EndObject();
  w.EndArray();
  r.OptionalString("text", code.display());
  w.EndObject();
}

void NarrateCode(ResourceWriter& r, const v1::Code& code) {
  JsonWriter& w = r.w();
  if (!IsBlank(code.display())) {
    w.Text(code.display());
    w.Markup(" (");
    w.Text(code.code());
    w.Markup(")");
  } else {
    w.Text(code.code());
  }
}

void NarrateResponse(ResourceWriter& r, const v1::HypothesisResponse& resp) {
  JsonWriter& w = r.w();
  NarratePerson(r, resp.person());
  w.Markup(": <b>");
  w.Text(StanceConcept(resp.stance()).display);
  w.Markup("</b>");
  if (!IsBlank(resp.words())) {
    w.Markup(" &#8212; ");
    w.Text(resp.words());
  }
}

absl::StatusOr<FhirResource> Impression(const v1::Hypothesis& h, const v1::Participant& subject,
                                        const MappingContext& ctx) {
  const int64_t revision = h.meta().revision();
  ResourceWriter r(ctx, "ClinicalImpression", RevisionKey(h, revision));
  JsonWriter& w = r.w();
  const Concept kind = KindConcept(h.kind());
  r.Meta(ctx.urls.profile_impression);

  r.BeginNarrative();
  w.Markup("<p><b>");
  w.Text(kind.display);
  w.Markup("</b> shared by ");
  NarratePerson(r, h.author());
  w.Markup(" (");
  w.Text(TentativenessConcept(h.tentativeness()).display);
  w.Markup("; ");
  w.Text(HypothesisStatusConcept(h.status()).display);
  w.Markup("):</p><blockquote>");
  w.Text(h.text());
  w.Markup("</blockquote>");
  if (HasCode(h)) {
    w.Markup("<p>Code: ");
    NarrateCode(r, h.code());
    w.Markup("</p>");
  }
  if (!h.responses().empty()) {
    w.Markup("<p>Responses:</p><ul>");
    for (const v1::HypothesisResponse& resp : h.responses()) {
      w.Markup("<li>");
      NarrateResponse(r, resp);
      w.Markup("</li>");
    }
    w.Markup("</ul>");
  }
  r.EndNarrative();

  LazyArray ext(&w, "extension");
  r.RevisionExtension(ext, revision);
  r.ExtensionCoding(ext, ctx.urls.ext_hypothesis_kind, ctx.urls.cs_hypothesis_kind, kind);
  r.ExtensionCoding(ext, ctx.urls.ext_tentativeness, ctx.urls.cs_tentativeness,
                    TentativenessConcept(h.tentativeness()));
  r.ExtensionCoding(ext, ctx.urls.ext_hypothesis_status, ctx.urls.cs_hypothesis_status,
                    HypothesisStatusConcept(h.status()));
  for (const std::string& person : h.audience()) {
    r.ExtensionPerson(ext, ctx.urls.ext_audience, person);
  }
  // Core extension resource-pertainsToGoal, as MCC uses it (fhir-facts.md 2.1).
  for (const std::string& goal : h.related_goals()) {
    ext.Item();
    w.BeginObject();
    w.TrustedField("url", kPertainsToGoal);
    r.RecordRef("valueReference", "Goal", goal);
    w.EndObject();
  }
  r.PreservedExtensions(ext);
  ext.Close();

  r.Identifier();
  w.TrustedField("status", h.status() == v1::Hypothesis::OPEN ? "in-progress" : "completed");
  r.CodeableConceptField("code", ctx.urls.cs_hypothesis_kind, kind);
  w.Field("description", kind.display);
  r.PersonRef("subject", subject.person());
  if (!IsUnset(h.meta().update_time())) {
    w.Key("date");
    w.Instant(h.meta().update_time(), "hypothesis.meta.update_time");
  }
  // assessor is Reference(Practitioner | PractitionerRole).
  if (absl::StartsWith(h.author(), "Practitioner")) r.PersonRef("assessor", h.author());
  if (revision > 1) r.RecordRef("previous", "ClinicalImpression", RevisionKey(h, revision - 1));
  if (MapsToCondition(h)) {
    w.Key("problem");
    w.BeginArray();
    w.BeginObject();
    r.RecordRefBody("Condition", absl::StrCat(h.name(), "/condition"));
    w.EndObject();
    w.EndArray();
  }
  w.Field("summary", h.text());
  if (HasCode(h)) {
    w.Key("finding");
    w.BeginArray();
    w.BeginObject();
    w.Key("itemCodeableConcept");
    CodeConcept(r, h.code());
    w.EndObject();
    w.EndArray();
  }
  // The answers so far, as notes by their authors (the Observations carry them coded).
  LazyArray notes(&w, "note");
  std::string text;
  for (const v1::HypothesisResponse& resp : h.responses()) {
    notes.Item();
    w.BeginObject();
    r.PersonRef("authorReference", resp.person());
    if (!IsUnset(resp.respond_time())) {
      w.Key("time");
      w.Instant(resp.respond_time(), "hypothesis.responses.respond_time");
    }
    text.assign(StanceConcept(resp.stance()).display.data(),
                StanceConcept(resp.stance()).display.size());
    if (!IsBlank(resp.words())) {
      text.append(": ");
      AppendMarkdownEscaped(resp.words(), &text);
    }
    if (text.empty()) text = "Answered.";
    w.Field("text", text);
    w.EndObject();
  }
  notes.Close();
  return r.Finish(h, "hypothesis");
}

absl::StatusOr<FhirResource> Condition(const v1::Hypothesis& h, const v1::Participant& subject,
                                       const MappingContext& ctx) {
  ResourceWriter r(ctx, "Condition", absl::StrCat(h.name(), "/condition"));
  JsonWriter& w = r.w();
  r.Meta("");
  // Differential while the therapist only wonders (one of several possibilities), provisional
  // once they consider it or are fairly confident (condition-ver-status, fhir-facts.md 2.1).
  const bool differential = h.tentativeness() == v1::Hypothesis::WONDERING;
  r.BeginNarrative();
  w.Markup(differential ? "<p><b>Differential diagnosis</b>" : "<p><b>Provisional diagnosis</b>");
  w.Markup(", shared openly as a professional hypothesis by ");
  NarratePerson(r, h.author());
  w.Markup(": ");
  NarrateCode(r, h.code());
  w.Markup("</p><blockquote>");
  w.Text(h.text());
  w.Markup("</blockquote>");
  r.EndNarrative();
  LazyArray ext(&w, "extension");
  r.PreservedExtensions(ext);
  ext.Close();
  r.Identifier();
  // A hypothesis set aside is no longer an active problem; it is not refuted either.
  r.CodeableConceptField("clinicalStatus", kConditionClinical,
                         h.status() == v1::Hypothesis::SET_ASIDE ? Concept{"inactive", "Inactive"}
                                                                 : Concept{"active", "Active"});
  r.CodeableConceptField("verificationStatus", kConditionVerification,
                         differential ? Concept{"differential", "Differential"}
                                      : Concept{"provisional", "Provisional"});
  w.Key("category");
  w.BeginArray();
  r.CodeableConcept(kConditionCategory, {"problem-list-item", "Problem List Item"});
  w.EndArray();
  w.Key("code");
  CodeConcept(r, h.code());
  r.PersonRef("subject", subject.person());
  if (!IsUnset(h.meta().create_time())) {
    w.Key("recordedDate");
    w.Instant(h.meta().create_time(), "hypothesis.meta.create_time");
  }
  if (!h.author().empty()) {
    r.PersonRef("recorder", h.author());
    r.PersonRef("asserter", h.author());
  }
  w.Key("evidence");
  w.BeginArray();
  w.BeginObject();
  w.Key("detail");
  w.BeginArray();
  w.BeginObject();
  r.RecordRefBody("ClinicalImpression", RevisionKey(h, h.meta().revision()));
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndArray();
  return r.Finish(h, "hypothesis");
}

absl::StatusOr<FhirResource> Response(const v1::Hypothesis& h, const v1::HypothesisResponse& resp,
                                      const MappingContext& ctx) {
  ResourceWriter r(ctx, "Observation", absl::StrCat(h.name(), "/responses/", resp.person()));
  JsonWriter& w = r.w();
  const Concept stance = StanceConcept(resp.stance());
  r.Meta(ctx.urls.profile_response);
  r.BeginNarrative();
  w.Markup("<p>");
  NarratePerson(r, resp.person());
  w.Markup(" answered a hypothesis shared by ");
  NarratePerson(r, h.author());
  w.Markup(": <b>");
  w.Text(stance.display);
  w.Markup("</b></p><p>The hypothesis:</p><blockquote>");
  w.Text(h.text());
  w.Markup("</blockquote>");
  if (!IsBlank(resp.words())) {
    w.Markup("<p>In their words:</p><blockquote>");
    w.Text(resp.words());
    w.Markup("</blockquote>");
  }
  r.EndNarrative();
  LazyArray ext(&w, "extension");
  r.PreservedExtensions(ext);
  ext.Close();
  r.Identifier();
  w.TrustedField("status", "final");
  w.Key("category");
  w.BeginArray();
  r.CodeableConcept(kObservationCategory, {"survey", "Survey"});
  w.EndArray();
  r.CodeableConceptField("code", ctx.urls.cs_record_kind, kKindResponse);
  const v1::Participant* subject = internal::SubjectFor(*ctx.episode, resp.person());
  r.PersonRef("subject", subject->person());
  w.Key("focus");
  w.BeginArray();
  w.BeginObject();
  r.RecordRefBody("ClinicalImpression",
                  RevisionKey(h, resp.answered_revision() > 0 ? resp.answered_revision()
                                                              : h.meta().revision()));
  w.EndObject();
  w.EndArray();
  if (!IsUnset(resp.respond_time())) {
    w.Key("effectiveDateTime");
    w.Instant(resp.respond_time(), "hypothesis.responses.respond_time");
  }
  w.Key("performer");
  w.BeginArray();
  w.BeginObject();
  r.PersonRefBody(resp.person());
  w.EndObject();
  w.EndArray();
  // FHIR allows one value[x]: the words are the value (DESIGN.md), the stance a coded component.
  r.OptionalString("valueString", resp.words());
  w.Key("component");
  w.BeginArray();
  w.BeginObject();
  r.CodeableConceptField("code", ctx.urls.cs_record_kind, kKindResponseStance);
  w.Key("valueCodeableConcept");
  r.CodeableConcept(ctx.urls.cs_stance, stance, stance.display);
  w.EndObject();
  w.EndArray();
  return r.Finish(h, "hypothesis");
}

}  // namespace

absl::StatusOr<std::vector<FhirResource>> HypothesisToFhir(const v1::Hypothesis& hypothesis,
                                                           const MappingContext& ctx) {
  if (ctx.episode == nullptr) {
    return absl::FailedPreconditionError("MappingContext.episode: required for a hypothesis");
  }
  const v1::Hypothesis& h = hypothesis;
  if (h.name().empty()) return absl::InvalidArgumentError("hypothesis.name: required");
  if (IsBlank(h.text())) return absl::InvalidArgumentError("hypothesis.text: required");
  if (KindConcept(h.kind()).code.empty()) {
    return absl::InvalidArgumentError("hypothesis.kind: required");
  }
  for (int i = 0; i < h.responses_size(); ++i) {
    if (StanceConcept(h.responses(i).stance()).code.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("hypothesis.responses[", i, "].stance: required"));
    }
    if (h.responses(i).person().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("hypothesis.responses[", i, "].person: required"));
    }
  }
  // The subject: the first client in the audience who is a Patient, else the episode's first.
  const v1::Participant* subject = nullptr;
  for (const std::string& person : h.audience()) {
    const v1::Participant* p = internal::SubjectFor(*ctx.episode, person);
    if (p != nullptr && p->person() == person) {
      subject = p;
      break;
    }
  }
  if (subject == nullptr) subject = internal::SubjectFor(*ctx.episode, "");
  if (subject == nullptr) {
    return absl::FailedPreconditionError("episode.participants: no CLIENT is a Patient");
  }
  std::vector<FhirResource> out;
  out.reserve(2 + h.responses_size());
  ASSIGN_OR_RETURN(FhirResource impression, Impression(h, *subject, ctx));
  out.push_back(std::move(impression));
  if (MapsToCondition(h)) {
    ASSIGN_OR_RETURN(FhirResource condition, Condition(h, *subject, ctx));
    out.push_back(std::move(condition));
  }
  for (const v1::HypothesisResponse& resp : h.responses()) {
    ASSIGN_OR_RETURN(FhirResource observation, Response(h, resp, ctx));
    out.push_back(std::move(observation));
  }
  return out;
}

}  // namespace collabcare::fhir
