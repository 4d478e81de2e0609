// Any record → DocumentReference: a mental-health progress note (LOINC 34904-3) carrying a
// plain-text rendering of the record, for EHRs that accept only notes (DESIGN.md "Host EHRs").
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/codes.h"
#include "adapters/fhir/json_writer.h"
#include "adapters/fhir/mapping.h"
#include "adapters/fhir/mapping_util.h"
#include "openssl/sha.h"

namespace collabcare::fhir {
namespace {

using internal::ResourceWriter;

void Person(const v1::Episode* e, absl::string_view person, std::string* out) {
  const absl::string_view name = internal::DisplayName(e, person);
  out->append(name.data(), name.size());
  if (name != person) absl::StrAppend(out, " (", person, ")");
}

void Score(double v, std::string* out) {
  if (!AppendDecimal(v, out)) out->push_back('?');
}

void Footer(const v1::RecordMeta& meta, absl::string_view name, std::string* out) {
  absl::StrAppend(out, "\nRecord ", name);
  if (meta.revision() > 0) absl::StrAppend(out, ", revision ", meta.revision());
  if (!IsUnset(meta.update_time())) {
    out->append(", written ");
    if (!AppendInstant(meta.update_time(), out)) out->push_back('?');
  }
  if (!meta.updated_by().empty()) absl::StrAppend(out, " by ", meta.updated_by());
  out->append(".\n");
}

const v1::Goal* FindGoal(const MappingContext& ctx, absl::string_view name) {
  if (ctx.goals == nullptr) return nullptr;
  for (const v1::Goal& g : *ctx.goals) {
    if (g.name() == name) return &g;
  }
  return nullptr;
}

struct Note {
  absl::string_view name;
  absl::string_view title;
  std::string text;
  const v1::Participant* subject = nullptr;
  const v1::RecordMeta* meta = nullptr;
  bool final = false;
  absl::string_view related_type;  // "" for none
  std::string related_key;
};

absl::StatusOr<FhirResource> WriteNote(const Note& note, const google::protobuf::Message& record,
                                       absl::string_view root, const MappingContext& ctx,
                                       const v1::Episode* episode) {
  ResourceWriter r(ctx, "DocumentReference", absl::StrCat(note.name, "/note"), false, episode);
  JsonWriter& w = r.w();
  r.Meta("");
  r.BeginNarrative();
  w.Markup("<p><b>");
  w.Text(note.title);
  w.Markup("</b></p><p>");
  w.Text(note.text);
  w.Markup("</p>");
  r.EndNarrative();
  r.Identifier();
  w.TrustedField("status", "current");
  // final = every participant signed (a SIGNED review); preliminary = for a clinician to review
  // and sign in the EHR, as Epic reads docStatus (fhir-facts.md 2.3).
  w.TrustedField("docStatus", note.final ? "final" : "preliminary");
  w.Key("type");
  r.CodeableConcept(kLoinc, {kLoincMentalHealthNote, kLoincMentalHealthNoteDisplay});
  w.Key("category");
  w.BeginArray();
  r.CodeableConcept(kDocumentCategory, {"clinical-note", "Clinical Note"});
  w.EndArray();
  r.PersonRef("subject", note.subject->person());
  if (!IsUnset(note.meta->update_time())) {
    w.Key("date");
    w.Instant(note.meta->update_time(), absl::StrCat(root, ".meta.update_time"));
  }
  if (!note.meta->updated_by().empty()) {
    w.Key("author");
    w.BeginArray();
    w.BeginObject();
    r.PersonRefBody(note.meta->updated_by());
    w.EndObject();
    w.EndArray();
  }
  w.Field("description", note.title);
  w.Key("securityLabel");
  w.BeginArray();
  r.CodeableConcept(kV3Confidentiality, {"R", "restricted"});
  r.CodeableConcept(kV3ActCode, {"MH", "mental health information sensitivity"});
  w.EndArray();
  w.Key("content");
  w.BeginArray();
  w.BeginObject();
  w.Key("attachment");
  w.BeginObject();
  w.TrustedField("contentType", "text/plain;charset=utf-8");
  w.TrustedField("data", absl::Base64Escape(note.text));
  w.Key("size");
  w.Int(static_cast<int64_t>(note.text.size()));
  // Attachment.hash is the base64 SHA-1 of the data (FHIR R4 Attachment).
  unsigned char sha1[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(note.text.data()), note.text.size(), sha1);
  w.TrustedField("hash", absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(sha1),
                                                              SHA_DIGEST_LENGTH)));
  w.Field("title", note.title);
  if (!IsUnset(note.meta->update_time())) {
    w.Key("creation");
    w.Instant(note.meta->update_time(), absl::StrCat(root, ".meta.update_time"));
  }
  w.EndObject();
  w.EndObject();
  w.EndArray();
  if (!note.related_type.empty()) {
    w.Key("context");
    w.BeginObject();
    w.Key("related");
    w.BeginArray();
    w.BeginObject();
    r.RecordRefBody(note.related_type, note.related_key);
    w.EndObject();
    w.EndArray();
    w.EndObject();
  }
  return r.Finish(record, root);
}

absl::Status NeedsSubject(const Note& note) {
  if (note.subject == nullptr) {
    return absl::FailedPreconditionError("episode.participants: no CLIENT is a Patient");
  }
  return absl::OkStatus();
}

}  // namespace

std::string RenderText(const v1::Episode& e, const MappingContext& ctx) {
  std::string out = "Collaborative care episode\n";
  const Concept modality = ModalityConcept(e.modality());
  const Concept format = FormatConcept(e.format());
  if (!modality.display.empty()) absl::StrAppend(&out, modality.display, " work. ");
  if (!format.display.empty()) absl::StrAppend(&out, format.display, ". ");
  absl::StrAppend(&out, e.status() == v1::Episode::CLOSED ? "Closed" : "Active", ".\n\n");
  out.append("Participants:\n");
  for (const v1::Participant& p : e.participants()) {
    out.append("- ");
    Person(&e, p.person(), &out);
    const Concept role = RoleConcept(p.role());
    if (!role.display.empty()) absl::StrAppend(&out, ": ", role.display);
    out.push_back('\n');
  }
  Footer(e.meta(), e.name(), &out);
  return out;
}

std::string RenderText(const v1::Goal& g, const MappingContext& ctx) {
  std::string out = "Goal of ";
  Person(ctx.episode, g.owner(), &out);
  absl::StrAppend(&out, ", in their own words:\n\"", g.words(), "\"\n");
  if (!IsBlank(g.everyday_signs())) {
    absl::StrAppend(&out, "\nWhat will be different in everyday life: ", g.everyday_signs(), "\n");
  }
  absl::StrAppend(&out, "\nStatus: ", GoalStatusWords(g.status()));
  if (g.priority() > 0) absl::StrAppend(&out, ". Rank among the owner's goals: ", g.priority());
  out.append(".\n");
  if (!g.transcribed_by().empty()) {
    out.append("Written down as said aloud in session by ");
    Person(ctx.episode, g.transcribed_by(), &out);
    out.append(".\n");
  }
  if (g.has_understanding() && !IsBlank(g.understanding().restatement())) {
    const v1::Understanding& u = g.understanding();
    out.append("\nRestatement");
    if (!u.restated_by().empty()) {
      out.append(" by ");
      Person(ctx.episode, u.restated_by(), &out);
    }
    absl::StrAppend(&out, ":\n\"", u.restatement(), "\"\n");
    switch (u.verdict()) {
      case v1::Understanding::CONFIRMED:
        out.append("The owner confirmed that this restatement fits.\n");
        break;
      case v1::Understanding::CORRECTED:
        absl::StrAppend(&out, "The owner corrected it:\n\"", u.correction(), "\"\n");
        break;
      default:
        out.append("The owner has not answered yet.\n");
    }
  }
  Footer(g.meta(), g.name(), &out);
  return out;
}

std::string RenderText(const v1::Hypothesis& h, const MappingContext& ctx) {
  std::string out(KindConcept(h.kind()).display);
  out.append(" shared by ");
  Person(ctx.episode, h.author(), &out);
  absl::StrAppend(&out, " (", TentativenessConcept(h.tentativeness()).display, "; ",
                  HypothesisStatusConcept(h.status()).display, "):\n\"", h.text(), "\"\n");
  if (h.has_code() && !h.code().code().empty()) {
    absl::StrAppend(&out, "Code: ", h.code().display(), " (", h.code().system(), " ",
                    h.code().code(), ")\n");
  }
  for (const std::string& goal : h.related_goals()) {
    const v1::Goal* g = FindGoal(ctx, goal);
    absl::StrAppend(&out, "Related goal: ", g != nullptr ? g->words() : goal, "\n");
  }
  if (!h.audience().empty()) {
    out.append("Shared with: ");
    for (int i = 0; i < h.audience_size(); ++i) {
      if (i > 0) out.append(", ");
      Person(ctx.episode, h.audience(i), &out);
    }
    out.append("\n");
  }
  if (!h.responses().empty()) out.append("\nResponses:\n");
  for (const v1::HypothesisResponse& resp : h.responses()) {
    out.append("- ");
    Person(ctx.episode, resp.person(), &out);
    absl::StrAppend(&out, ": ", StanceConcept(resp.stance()).display);
    if (!IsBlank(resp.words())) absl::StrAppend(&out, " - \"", resp.words(), "\"");
    out.push_back('\n');
  }
  Footer(h.meta(), h.name(), &out);
  return out;
}

std::string RenderText(const v1::Review& rv, const MappingContext& ctx) {
  std::string out = "Shared progress review (";
  out.append(rv.status() == v1::Review::SIGNED ? "signed by every participant" : "open");
  out.append(")\n\nGoals under review:\n");
  for (const std::string& goal : rv.goals()) {
    const v1::Goal* g = FindGoal(ctx, goal);
    out.append("- ");
    if (g == nullptr) {
      out.append(goal);
    } else {
      absl::StrAppend(&out, "\"", g->words(), "\" (");
      Person(ctx.episode, g->owner(), &out);
      out.append(")");
    }
    out.push_back('\n');
  }
  if (!rv.ratings().empty() || !rv.instrument_scores().empty()) out.append("\nRatings:\n");
  for (const v1::Rating& rating : rv.ratings()) {
    out.append("- ");
    Person(ctx.episode, rating.rater(), &out);
    const v1::Goal* g = FindGoal(ctx, rating.goal());
    absl::StrAppend(&out, " on \"", g != nullptr ? g->words() : rating.goal(), "\": ");
    Score(rating.score(), &out);
    out.append(" of 10\n");
  }
  for (const v1::InstrumentScore& s : rv.instrument_scores()) {
    out.append("- ");
    Person(ctx.episode, s.rater(), &out);
    absl::StrAppend(&out, ", ", InstrumentDisplay(s.instrument()), ": total ");
    Score(s.total(), &out);
    out.append(" (items");
    for (double item : s.items()) {
      out.push_back(' ');
      Score(item, &out);
    }
    out.append(")\n");
  }
  if (!rv.reflections().empty()) out.append("\nReflections:\n");
  for (const v1::Reflection& reflection : rv.reflections()) {
    out.append("- ");
    Person(ctx.episode, reflection.participant(), &out);
    absl::StrAppend(&out, ": \"", reflection.words(), "\"\n");
  }
  if (!rv.next_steps().empty()) out.append("\nNext steps:\n");
  for (const v1::NextStep& step : rv.next_steps()) {
    absl::StrAppend(&out, "- ", step.text());
    if (!step.owner().empty()) {
      out.append(" (");
      Person(ctx.episode, step.owner(), &out);
      out.append(")");
    }
    if (!step.due_date().empty()) absl::StrAppend(&out, ", by ", step.due_date());
    out.push_back('\n');
  }
  if (!rv.signatures().empty()) out.append("\nSignatures:\n");
  for (const v1::Signature& sig : rv.signatures()) {
    out.append("- ");
    Person(ctx.episode, sig.participant(), &out);
    out.append(" signed at ");
    if (!AppendInstant(sig.sign_time(), &out)) out.push_back('?');
    if (!IsBlank(sig.dissent())) absl::StrAppend(&out, ", with dissent: \"", sig.dissent(), "\"");
    out.push_back('\n');
  }
  Footer(rv.meta(), rv.name(), &out);
  return out;
}

absl::StatusOr<FhirResource> NoteToFhir(const v1::Episode& episode, const MappingContext& ctx) {
  if (episode.name().empty()) return absl::InvalidArgumentError("episode.name: required");
  Note note;
  note.name = episode.name();
  note.title = "Collaborative care episode";
  note.text = RenderText(episode, ctx);
  note.subject = internal::SubjectFor(episode, "");
  note.meta = &episode.meta();
  note.related_type = "CareTeam";
  note.related_key = absl::StrCat(episode.name(), "/careteam");
  if (absl::Status s = NeedsSubject(note); !s.ok()) return s;
  return WriteNote(note, episode, "episode", ctx, &episode);
}

absl::StatusOr<FhirResource> NoteToFhir(const v1::Goal& goal, const MappingContext& ctx) {
  if (ctx.episode == nullptr) {
    return absl::FailedPreconditionError("MappingContext.episode: required for a goal");
  }
  if (goal.name().empty()) return absl::InvalidArgumentError("goal.name: required");
  Note note;
  note.name = goal.name();
  note.title = "Goal in the client's own words";
  note.text = RenderText(goal, ctx);
  note.subject = internal::SubjectFor(*ctx.episode, goal.owner());
  note.meta = &goal.meta();
  note.related_type = "Goal";
  note.related_key = goal.name();
  if (absl::Status s = NeedsSubject(note); !s.ok()) return s;
  return WriteNote(note, goal, "goal", ctx, nullptr);
}

absl::StatusOr<FhirResource> NoteToFhir(const v1::Hypothesis& hypothesis,
                                        const MappingContext& ctx) {
  if (ctx.episode == nullptr) {
    return absl::FailedPreconditionError("MappingContext.episode: required for a hypothesis");
  }
  if (hypothesis.name().empty()) return absl::InvalidArgumentError("hypothesis.name: required");
  Note note;
  note.name = hypothesis.name();
  note.title = "Hypothesis shared with the client";
  note.text = RenderText(hypothesis, ctx);
  note.subject = internal::SubjectFor(*ctx.episode, "");
  for (const std::string& person : hypothesis.audience()) {
    const v1::Participant* p = internal::SubjectFor(*ctx.episode, person);
    if (p != nullptr && p->person() == person) {
      note.subject = p;
      break;
    }
  }
  note.meta = &hypothesis.meta();
  note.related_type = "ClinicalImpression";
  note.related_key =
      absl::StrCat(hypothesis.name(), "/revisions/",
                   hypothesis.meta().revision() < 1 ? 1 : hypothesis.meta().revision());
  if (absl::Status s = NeedsSubject(note); !s.ok()) return s;
  return WriteNote(note, hypothesis, "hypothesis", ctx, nullptr);
}

absl::StatusOr<FhirResource> NoteToFhir(const v1::Review& review, const MappingContext& ctx) {
  if (ctx.episode == nullptr) {
    return absl::FailedPreconditionError("MappingContext.episode: required for a review");
  }
  if (review.name().empty()) return absl::InvalidArgumentError("review.name: required");
  Note note;
  note.name = review.name();
  note.title = "Shared progress review";
  note.text = RenderText(review, ctx);
  note.subject = internal::SubjectFor(*ctx.episode, "");
  note.meta = &review.meta();
  note.final = review.status() == v1::Review::SIGNED;
  if (note.final) {
    note.related_type = "Composition";
    note.related_key = absl::StrCat(review.name(), "/composition");
  }
  if (absl::Status s = NeedsSubject(note); !s.ok()) return s;
  return WriteNote(note, review, "review", ctx, nullptr);
}

}  // namespace collabcare::fhir
