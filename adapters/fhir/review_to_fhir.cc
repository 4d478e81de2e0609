// Review → QuestionnaireResponses and Observations for every rater's scores; when SIGNED, a
// Composition with attesters and a Provenance with one signature per signer.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
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

const v1::Goal* FindGoal(const MappingContext& ctx, absl::string_view name) {
  if (ctx.goals == nullptr) return nullptr;
  for (const v1::Goal& g : *ctx.goals) {
    if (g.name() == name) return &g;
  }
  return nullptr;
}

std::string QuestionnaireKey(const v1::Review& rv, const v1::InstrumentScore& s) {
  return absl::StrCat(rv.name(), "/instruments/", s.rater(), "/", s.instrument());
}
std::string TotalKey(const v1::Review& rv, const v1::InstrumentScore& s) {
  return absl::StrCat(rv.name(), "/totals/", s.rater(), "/", s.instrument());
}
std::string RatingKey(const v1::Review& rv, const v1::Rating& rating) {
  return absl::StrCat(rv.name(), "/ratings/", rating.rater(), "/",
                      internal::RelativeName(rating.goal()));
}

// The signer's dissent, if any, as the signature-dissent extension (on both the Composition's
// attester and the Provenance's signature).
void WriteDissent(JsonWriter& w, const MappingContext& ctx, const v1::Signature& sig) {
  if (IsBlank(sig.dissent())) return;
  w.Key("extension");
  w.BeginArray();
  w.BeginObject();
  w.Field("url", ctx.urls.ext_dissent);
  w.Field("valueString", sig.dissent());
  w.EndObject();
  w.EndArray();
}

void NarrateScore(JsonWriter& w, double v) {
  std::string s;
  if (!AppendDecimal(v, &s)) s.push_back('?');
  w.Text(s);
}

// "the goal “…” of Maya (Patient/1)", or the goal's name when its words are not at hand.
void NarrateGoal(ResourceWriter& r, absl::string_view name) {
  JsonWriter& w = r.w();
  const v1::Goal* g = FindGoal(r.ctx(), name);
  if (g == nullptr) {
    w.Markup("the goal ");
    w.Text(name);
    return;
  }
  w.Markup("the goal &#8220;");
  w.Text(g->words());
  w.Markup("&#8221; of ");
  NarratePerson(r, g->owner());
}

void SurveyCategory(ResourceWriter& r) {
  JsonWriter& w = r.w();
  w.Key("category");
  w.BeginArray();
  r.CodeableConcept(kObservationCategory, {"survey", "Survey"});
  w.EndArray();
}

void Effective(ResourceWriter& r, const v1::Review& rv) {
  if (IsUnset(rv.meta().update_time())) return;
  r.w().Key("effectiveDateTime");
  r.w().Instant(rv.meta().update_time(), "review.meta.update_time");
}

void Performer(ResourceWriter& r, absl::string_view person) {
  JsonWriter& w = r.w();
  w.Key("performer");
  w.BeginArray();
  w.BeginObject();
  r.PersonRefBody(person);
  w.EndObject();
  w.EndArray();
}

void NoExtensionsButPreserved(ResourceWriter& r) {
  LazyArray ext(&r.w(), "extension");
  r.PreservedExtensions(ext);
  ext.Close();
}

std::string QuestionnaireUrl(const CanonicalUrls& urls, const std::string& instrument) {
  if (instrument == "ORS") return urls.questionnaire_ors;
  if (instrument == "SRS") return urls.questionnaire_srs;
  if (instrument == "GBO") return urls.questionnaire_gbo;
  return absl::StrCat(urls.base, "/Questionnaire/", absl::AsciiStrToLower(instrument));
}

absl::StatusOr<FhirResource> Questionnaire(const v1::Review& rv, int index,
                                           const v1::Participant& subject,
                                           const MappingContext& ctx) {
  const v1::InstrumentScore& s = rv.instrument_scores(index);
  ResourceWriter r(ctx, "QuestionnaireResponse", QuestionnaireKey(rv, s));
  JsonWriter& w = r.w();
  r.Meta("");
  r.BeginNarrative();
  w.Markup("<p><b>");
  w.Text(InstrumentDisplay(s.instrument()));
  w.Markup("</b> answered by ");
  NarratePerson(r, s.rater());
  w.Markup(": total ");
  NarrateScore(w, s.total());
  w.Markup("</p><ul>");
  for (int i = 0; i < s.items_size(); ++i) {
    w.Markup("<li>");
    const absl::string_view label = InstrumentItemLabel(s.instrument(), i);
    if (label.empty()) {
      w.Markup(absl::StrCat("Item ", i + 1));
    } else {
      w.Text(label);
    }
    w.Markup(": ");
    NarrateScore(w, s.items(i));
    w.Markup("</li>");
  }
  w.Markup("</ul>");
  r.EndNarrative();
  NoExtensionsButPreserved(r);
  r.Identifier(/*single=*/true);
  w.Field("questionnaire", QuestionnaireUrl(ctx.urls, s.instrument()));
  w.TrustedField("status", "completed");
  r.PersonRef("subject", subject.person());
  if (!IsUnset(rv.meta().update_time())) {
    w.Key("authored");
    w.Instant(rv.meta().update_time(), "review.meta.update_time");
  }
  r.PersonRef("author", s.rater());
  r.PersonRef("source", s.rater());
  LazyArray items(&w, "item");
  std::string path;
  for (int i = 0; i < s.items_size(); ++i) {
    items.Item();
    w.BeginObject();
    w.TrustedField("linkId", absl::StrCat(i + 1));
    const absl::string_view label = InstrumentItemLabel(s.instrument(), i);
    if (!label.empty()) w.Field("text", label);
    w.Key("answer");
    w.BeginArray();
    w.BeginObject();
    w.Key("valueDecimal");
    if (ctx.preserved != nullptr) {
      path = absl::StrCat("QuestionnaireResponse.item[", i, "].answer[0].valueDecimal");
    }
    r.DecimalAt(s.items(i), path, "review.instrument_scores.items");
    w.EndObject();
    w.EndArray();
    w.EndObject();
  }
  items.Close();
  return r.Finish(rv, "review");
}

absl::StatusOr<FhirResource> Total(const v1::Review& rv, int index, const v1::Participant& subject,
                                   const MappingContext& ctx) {
  const v1::InstrumentScore& s = rv.instrument_scores(index);
  ResourceWriter r(ctx, "Observation", TotalKey(rv, s));
  JsonWriter& w = r.w();
  const absl::string_view display = InstrumentDisplay(s.instrument());
  r.Meta("");
  r.BeginNarrative();
  w.Markup("<p><b>");
  w.Text(display);
  w.Markup(" total</b> from ");
  NarratePerson(r, s.rater());
  w.Markup(": ");
  NarrateScore(w, s.total());
  w.Markup("</p>");
  r.EndNarrative();
  NoExtensionsButPreserved(r);
  r.Identifier();
  w.TrustedField("status", "final");
  SurveyCategory(r);
  r.CodeableConceptField("code", ctx.urls.cs_instrument, {s.instrument(), display},
                         absl::StrCat(display, " total score"));
  r.PersonRef("subject", subject.person());
  Effective(r, rv);
  Performer(r, s.rater());
  w.Key("valueQuantity");
  r.ScoreQuantity(s.total(), "Observation.valueQuantity.value", "review.instrument_scores.total");
  w.Key("derivedFrom");
  w.BeginArray();
  w.BeginObject();
  r.RecordRefBody("QuestionnaireResponse", QuestionnaireKey(rv, s));
  w.EndObject();
  w.EndArray();
  return r.Finish(rv, "review");
}

absl::StatusOr<FhirResource> RatingObservation(const v1::Review& rv, const v1::Rating& rating,
                                               const MappingContext& ctx) {
  ResourceWriter r(ctx, "Observation", RatingKey(rv, rating));
  JsonWriter& w = r.w();
  r.Meta(ctx.urls.profile_rating);
  r.BeginNarrative();
  w.Markup("<p>");
  NarratePerson(r, rating.rater());
  w.Markup(" rated progress on ");
  NarrateGoal(r, rating.goal());
  w.Markup(": <b>");
  NarrateScore(w, rating.score());
  w.Markup("</b> of 10.</p>");
  r.EndNarrative();
  NoExtensionsButPreserved(r);
  r.Identifier();
  w.TrustedField("status", "final");
  SurveyCategory(r);
  r.CodeableConceptField("code", ctx.urls.cs_instrument, kGoalRating);
  // The goal's subject: its owner if a client who is a Patient, else the first such client.
  const v1::Goal* goal = FindGoal(ctx, rating.goal());
  const v1::Participant* subject =
      internal::SubjectFor(*ctx.episode, goal != nullptr ? goal->owner() : rating.rater());
  r.PersonRef("subject", subject->person());
  w.Key("focus");
  w.BeginArray();
  w.BeginObject();
  r.RecordRefBody("Goal", rating.goal());
  w.EndObject();
  w.EndArray();
  Effective(r, rv);
  Performer(r, rating.rater());
  w.Key("valueQuantity");
  r.ScoreQuantity(rating.score(), "Observation.valueQuantity.value", "review.ratings.score");
  return r.Finish(rv, "review");
}

// The review's sections as narrative, shared by the Composition's text.
void NarrateGoals(ResourceWriter& r, const v1::Review& rv) {
  JsonWriter& w = r.w();
  if (rv.goals().empty()) {
    w.Markup("<p>No goals were under review.</p>");
    return;
  }
  w.Markup("<ul>");
  for (const std::string& name : rv.goals()) {
    w.Markup("<li>");
    const v1::Goal* g = FindGoal(r.ctx(), name);
    if (g == nullptr) {
      w.Text(name);
    } else {
      w.Markup("&#8220;");
      w.Text(g->words());
      w.Markup("&#8221; (");
      NarratePerson(r, g->owner());
      w.Markup(")");
    }
    w.Markup("</li>");
  }
  w.Markup("</ul>");
}

void NarrateRatings(ResourceWriter& r, const v1::Review& rv) {
  JsonWriter& w = r.w();
  if (rv.ratings().empty() && rv.instrument_scores().empty()) {
    w.Markup("<p>No ratings were given.</p>");
    return;
  }
  w.Markup("<ul>");
  for (const v1::Rating& rating : rv.ratings()) {
    w.Markup("<li>");
    NarratePerson(r, rating.rater());
    w.Markup(" on ");
    NarrateGoal(r, rating.goal());
    w.Markup(": ");
    NarrateScore(w, rating.score());
    w.Markup(" of 10</li>");
  }
  for (const v1::InstrumentScore& s : rv.instrument_scores()) {
    w.Markup("<li>");
    NarratePerson(r, s.rater());
    w.Markup(", ");
    w.Text(InstrumentDisplay(s.instrument()));
    w.Markup(": total ");
    NarrateScore(w, s.total());
    w.Markup("</li>");
  }
  w.Markup("</ul>");
}

void NarrateReflections(ResourceWriter& r, const v1::Review& rv) {
  JsonWriter& w = r.w();
  if (rv.reflections().empty()) {
    w.Markup("<p>No reflections were written.</p>");
    return;
  }
  for (const v1::Reflection& reflection : rv.reflections()) {
    w.Markup("<p>");
    NarratePerson(r, reflection.participant());
    w.Markup(":</p><blockquote>");
    w.Text(reflection.words());
    w.Markup("</blockquote>");
  }
}

void NarrateNextSteps(ResourceWriter& r, const v1::Review& rv) {
  JsonWriter& w = r.w();
  if (rv.next_steps().empty()) {
    w.Markup("<p>No next steps were agreed.</p>");
    return;
  }
  w.Markup("<ul>");
  for (const v1::NextStep& step : rv.next_steps()) {
    w.Markup("<li>");
    w.Text(step.text());
    if (!step.owner().empty()) {
      w.Markup(" &#8212; ");
      NarratePerson(r, step.owner());
    }
    if (!step.due_date().empty()) {
      w.Markup(", by ");
      w.Text(step.due_date());
    }
    w.Markup("</li>");
  }
  w.Markup("</ul>");
}

void NarrateSignatures(ResourceWriter& r, const v1::Review& rv) {
  JsonWriter& w = r.w();
  w.Markup("<ul>");
  for (const v1::Signature& sig : rv.signatures()) {
    w.Markup("<li>Signed by ");
    NarratePerson(r, sig.participant());
    std::string when;
    if (AppendInstant(sig.sign_time(), &when)) {
      w.Markup(" at ");
      w.Text(when);
    }
    if (!IsBlank(sig.dissent())) {
      w.Markup(", with dissent:<blockquote>");
      w.Text(sig.dissent());
      w.Markup("</blockquote>");
    }
    w.Markup("</li>");
  }
  w.Markup("</ul>");
}

using NarrateFn = void (*)(ResourceWriter&, const v1::Review&);

void Section(ResourceWriter& r, const v1::Review& rv, absl::string_view title, NarrateFn narrate,
             const std::vector<std::pair<absl::string_view, std::string>>& entries) {
  JsonWriter& w = r.w();
  w.BeginObject();
  w.Field("title", title);
  r.BeginNarrative();
  narrate(r, rv);
  r.EndNarrative();
  if (entries.empty()) {
    // cmp-2: emptyReason only on a section without entries.
    w.Key("emptyReason");
    r.CodeableConcept(kListEmptyReason, {"nilknown", "Nil Known"});
  } else {
    w.Key("entry");
    w.BeginArray();
    for (const auto& [type, key] : entries) {
      w.BeginObject();
      r.RecordRefBody(type, key);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

bool IsClientSide(const MappingContext& ctx, absl::string_view person) {
  const v1::Participant* p = internal::FindParticipant(*ctx.episode, person);
  return p == nullptr || p->role() != v1::Participant::THERAPIST;
}

absl::StatusOr<FhirResource> Composition(const v1::Review& rv, const v1::Participant& subject,
                                         const MappingContext& ctx) {
  ResourceWriter r(ctx, "Composition", absl::StrCat(rv.name(), "/composition"));
  JsonWriter& w = r.w();
  r.Meta(ctx.urls.profile_review);
  r.BeginNarrative();
  w.Markup("<p><b>Shared progress review</b>, signed by every participant.</p><p><b>Goals</b></p>");
  NarrateGoals(r, rv);
  w.Markup("<p><b>Ratings</b></p>");
  NarrateRatings(r, rv);
  w.Markup("<p><b>Reflections</b></p>");
  NarrateReflections(r, rv);
  w.Markup("<p><b>Next steps</b></p>");
  NarrateNextSteps(r, rv);
  w.Markup("<p><b>Signatures</b></p>");
  NarrateSignatures(r, rv);
  r.EndNarrative();
  LazyArray ext(&w, "extension");
  r.RevisionExtension(ext, rv.meta().revision());
  r.PreservedExtensions(ext);
  ext.Close();
  r.Identifier(/*single=*/true);
  w.TrustedField("status", "final");
  w.Key("type");
  r.CodeableConcept(kLoinc, {kLoincMentalHealthNote, kLoincMentalHealthNoteDisplay});
  r.PersonRef("subject", subject.person());
  w.Key("date");
  w.Instant(rv.meta().update_time(), "review.meta.update_time");
  if (IsUnset(rv.meta().update_time())) w.Fail("review.meta.update_time");
  w.Key("author");
  w.BeginArray();
  for (const v1::Signature& sig : rv.signatures()) {
    w.BeginObject();
    r.PersonRefBody(sig.participant());
    w.EndObject();
  }
  w.EndArray();
  w.TrustedField("title", "Shared progress review");
  w.TrustedField("confidentiality", "R");
  // Clients and family members attest in their personal capacity, therapists in their
  // professional one (composition-attestation-mode, fhir-facts.md 3.2).
  w.Key("attester");
  w.BeginArray();
  for (int i = 0; i < rv.signatures_size(); ++i) {
    const v1::Signature& sig = rv.signatures(i);
    w.BeginObject();
    WriteDissent(w, ctx, sig);
    w.TrustedField("mode", IsClientSide(ctx, sig.participant()) ? "personal" : "professional");
    if (!IsUnset(sig.sign_time())) {
      w.Key("time");
      w.Instant(sig.sign_time(), "review.signatures.sign_time");
    }
    r.PersonRef("party", sig.participant());
    w.EndObject();
  }
  w.EndArray();
  w.Key("section");
  w.BeginArray();
  std::vector<std::pair<absl::string_view, std::string>> entries;
  for (const std::string& goal : rv.goals()) entries.emplace_back("Goal", goal);
  Section(r, rv, "Goals", NarrateGoals, entries);
  entries.clear();
  for (const v1::Rating& rating : rv.ratings()) {
    entries.emplace_back("Observation", RatingKey(rv, rating));
  }
  for (const v1::InstrumentScore& s : rv.instrument_scores()) {
    entries.emplace_back("Observation", TotalKey(rv, s));
    entries.emplace_back("QuestionnaireResponse", QuestionnaireKey(rv, s));
  }
  Section(r, rv, "Ratings", NarrateRatings, entries);
  entries.clear();
  Section(r, rv, "Reflections", NarrateReflections, entries);
  Section(r, rv, "Next steps", NarrateNextSteps, entries);
  w.EndArray();
  return r.Finish(rv, "review");
}

absl::StatusOr<FhirResource> Signatures(const v1::Review& rv, const MappingContext& ctx) {
  ResourceWriter r(ctx, "Provenance", absl::StrCat(rv.name(), "/signatures"), true);
  JsonWriter& w = r.w();
  r.Meta("");
  r.BeginNarrative();
  w.Markup("<p>Signatures on a shared progress review.</p>");
  NarrateSignatures(r, rv);
  r.EndNarrative();
  w.Key("target");
  w.BeginArray();
  w.BeginObject();
  r.RecordRefBody("Composition", absl::StrCat(rv.name(), "/composition"));
  w.EndObject();
  w.EndArray();
  w.Key("recorded");
  w.Instant(rv.meta().update_time(), "review.meta.update_time");
  w.Key("agent");
  w.BeginArray();
  for (const v1::Signature& sig : rv.signatures()) {
    w.BeginObject();
    w.Key("type");
    r.CodeableConcept(kProvenanceParticipantType, {"attester", "Attester"});
    r.PersonRef("who", sig.participant());
    w.EndObject();
  }
  w.EndArray();
  w.Key("signature");
  w.BeginArray();
  std::string digest;
  for (int i = 0; i < rv.signatures_size(); ++i) {
    const v1::Signature& sig = rv.signatures(i);
    w.BeginObject();
    WriteDissent(w, ctx, sig);
    w.Key("type");
    w.BeginArray();
    r.Coding(kSignatureType, {kCoauthorSignature, kCoauthorSignatureDisplay});
    w.EndArray();
    w.Key("when");
    w.Instant(sig.sign_time(), "review.signatures.sign_time");
    if (IsUnset(sig.sign_time())) w.Fail(absl::StrCat("review.signatures[", i, "].sign_time"));
    r.PersonRef("who", sig.participant());
    // The signature binds the SHA-256 of the review's canonical content (a text, see
    // domain::CanonicalContent); `data` is that digest, not a cryptographic signature.
    w.TrustedField("targetFormat", "text/plain");
    const std::string& hex = sig.content_sha256();
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      w.Fail(absl::StrCat("review.signatures[", i, "].content_sha256"));
    } else {
      digest = absl::HexStringToBytes(hex);
      w.TrustedField("data", absl::Base64Escape(digest));
    }
    w.EndObject();
  }
  w.EndArray();
  return r.Finish(rv, "review");
}

}  // namespace

absl::StatusOr<std::vector<FhirResource>> ReviewToFhir(const v1::Review& review,
                                                       const MappingContext& ctx) {
  if (ctx.episode == nullptr) {
    return absl::FailedPreconditionError("MappingContext.episode: required for a review");
  }
  const v1::Review& rv = review;
  if (rv.name().empty()) return absl::InvalidArgumentError("review.name: required");
  const v1::Participant* first_client = internal::SubjectFor(*ctx.episode, "");
  if (first_client == nullptr) {
    return absl::FailedPreconditionError("episode.participants: no CLIENT is a Patient");
  }
  for (int i = 0; i < rv.ratings_size(); ++i) {
    if (rv.ratings(i).rater().empty() || rv.ratings(i).goal().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("review.ratings[", i, "]: rater and goal required"));
    }
  }
  for (int i = 0; i < rv.instrument_scores_size(); ++i) {
    const v1::InstrumentScore& s = rv.instrument_scores(i);
    if (s.rater().empty() || s.instrument().empty() || s.items().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("review.instrument_scores[", i, "]: rater, instrument and items required"));
    }
  }
  const bool is_signed = rv.status() == v1::Review::SIGNED;
  if (is_signed && rv.signatures().empty()) {
    return absl::InvalidArgumentError("review.signatures: a SIGNED review has signatures");
  }
  std::vector<FhirResource> out;
  out.reserve(2 * rv.instrument_scores_size() + rv.ratings_size() + (is_signed ? 2 : 0));
  for (int i = 0; i < rv.instrument_scores_size(); ++i) {
    const v1::Participant* subject =
        internal::SubjectFor(*ctx.episode, rv.instrument_scores(i).rater());
    ASSIGN_OR_RETURN(FhirResource qr, Questionnaire(rv, i, *subject, ctx));
    out.push_back(std::move(qr));
    ASSIGN_OR_RETURN(FhirResource total, Total(rv, i, *subject, ctx));
    out.push_back(std::move(total));
  }
  for (const v1::Rating& rating : rv.ratings()) {
    ASSIGN_OR_RETURN(FhirResource obs, RatingObservation(rv, rating, ctx));
    out.push_back(std::move(obs));
  }
  if (is_signed) {
    ASSIGN_OR_RETURN(FhirResource composition, Composition(rv, *first_client, ctx));
    out.push_back(std::move(composition));
    ASSIGN_OR_RETURN(FhirResource provenance, Signatures(rv, ctx));
    out.push_back(std::move(provenance));
  }
  return out;
}

}  // namespace collabcare::fhir
