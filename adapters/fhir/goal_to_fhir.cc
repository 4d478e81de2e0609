// Goal → Goal (the owner's words verbatim in description.text, expressedBy = the owner) +
// Provenance of the revision (author = the owner).
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// Goal.lifecycleStatus (required binding goal-status, fhir-facts.md 1.1). Letting go is
// `cancelled`, not `rejected`: the owner chose it, and the domain says it is no failure.
absl::string_view LifecycleStatus(v1::Goal::Status status) {
  switch (status) {
    case v1::Goal::PROPOSED:
      return "proposed";
    case v1::Goal::ACTIVE:
      return "active";
    case v1::Goal::PAUSED:
      return "on-hold";
    case v1::Goal::ACHIEVED:
      return "completed";
    case v1::Goal::LET_GO:
      return "cancelled";
    default:
      return "";
  }
}

// goal-priority codes from the owner's rank: 1 high, 2 medium, 3 and below low.
Concept PriorityConcept(int32_t rank) {
  if (rank == 1) return {"high-priority", "High Priority"};
  if (rank == 2) return {"medium-priority", "Medium Priority"};
  return {"low-priority", "Low Priority"};
}

bool HasUnderstanding(const v1::Goal& g) {
  return g.has_understanding() && !IsBlank(g.understanding().restatement());
}

void Narrative(ResourceWriter& r, const v1::Goal& g) {
  JsonWriter& w = r.w();
  r.BeginNarrative();
  w.Markup("<p><b>Goal</b> of ");
  NarratePerson(r, g.owner());
  w.Markup(", in their own words:</p><blockquote>");
  w.Text(g.words());
  w.Markup("</blockquote>");
  if (!IsBlank(g.everyday_signs())) {
    w.Markup("<p><b>What will be different in everyday life:</b> ");
    w.Text(g.everyday_signs());
    w.Markup("</p>");
  }
  w.Markup("<p>Status: ");
  w.Text(GoalStatusWords(g.status()));
  if (g.priority() > 0) {
    w.Markup(". Rank among the owner&#39;s goals: ");
    w.Markup(absl::StrCat(g.priority()));
  }
  w.Markup(".</p>");
  if (!g.transcribed_by().empty()) {
    w.Markup("<p>Written down as said aloud in session by ");
    NarratePerson(r, g.transcribed_by());
    w.Markup(".</p>");
  }
  if (HasUnderstanding(g)) {
    const v1::Understanding& u = g.understanding();
    w.Markup("<p><b>Restatement</b>");
    if (!u.restated_by().empty()) {
      w.Markup(" by ");
      NarratePerson(r, u.restated_by());
    }
    w.Markup(":</p><blockquote>");
    w.Text(u.restatement());
    w.Markup("</blockquote><p>");
    switch (u.verdict()) {
      case v1::Understanding::CONFIRMED:
        w.Markup("The owner confirmed that this restatement fits.");
        break;
      case v1::Understanding::CORRECTED:
        w.Markup("The owner corrected it:</p><blockquote>");
        w.Text(u.correction());
        w.Markup("</blockquote><p>The owner&#39;s own words stand.");
        break;
      default:
        w.Markup("The owner has not answered yet.");
    }
    w.Markup("</p>");
  }
  r.EndNarrative();
}

void UnderstandingExtension(ResourceWriter& r, LazyArray& ext, const v1::Goal& g) {
  if (!HasUnderstanding(g)) return;
  const v1::Understanding& u = g.understanding();
  JsonWriter& w = r.w();
  ext.Item();
  w.BeginObject();
  w.Field("url", r.ctx().urls.ext_understanding);
  LazyArray sub(&w, "extension");
  r.ExtensionString(sub, "restatement", u.restatement());
  r.ExtensionPerson(sub, "restatedBy", u.restated_by());
  if (!IsUnset(u.restate_time())) {
    sub.Item();
    w.BeginObject();
    w.TrustedField("url", "restateTime");
    w.Key("valueDateTime");
    w.Instant(u.restate_time(), "goal.understanding.restate_time");
    w.EndObject();
  }
  r.ExtensionCoding(sub, "verdict", r.ctx().urls.cs_understanding, VerdictConcept(u.verdict()));
  r.ExtensionString(sub, "correction", u.correction());
  if (!IsUnset(u.verdict_time())) {
    sub.Item();
    w.BeginObject();
    w.TrustedField("url", "verdictTime");
    w.Key("valueDateTime");
    w.Instant(u.verdict_time(), "goal.understanding.verdict_time");
    w.EndObject();
  }
  sub.Close();
  w.EndObject();
}

void Notes(ResourceWriter& r, const v1::Goal& g) {
  if (!HasUnderstanding(g)) return;
  const v1::Understanding& u = g.understanding();
  JsonWriter& w = r.w();
  std::string text;
  w.Key("note");
  w.BeginArray();
  // The therapist's restatement, authored by the therapist.
  w.BeginObject();
  if (!u.restated_by().empty()) r.PersonRef("authorReference", u.restated_by());
  if (!IsUnset(u.restate_time())) {
    w.Key("time");
    w.Instant(u.restate_time(), "goal.understanding.restate_time");
  }
  text = "Restatement: ";
  AppendMarkdownEscaped(u.restatement(), &text);
  w.Field("text", text);
  w.EndObject();
  // The owner's verdict, authored by the owner.
  if (u.verdict() == v1::Understanding::CONFIRMED || u.verdict() == v1::Understanding::CORRECTED) {
    w.BeginObject();
    r.PersonRef("authorReference", g.owner());
    if (!IsUnset(u.verdict_time())) {
      w.Key("time");
      w.Instant(u.verdict_time(), "goal.understanding.verdict_time");
    }
    if (u.verdict() == v1::Understanding::CONFIRMED || IsBlank(u.correction())) {
      text = u.verdict() == v1::Understanding::CONFIRMED ? "Confirmed: the restatement fits."
                                                         : "Corrected.";
    } else {
      text = "Corrected: ";
      AppendMarkdownEscaped(u.correction(), &text);
    }
    w.Field("text", text);
    w.EndObject();
  }
  w.EndArray();
}

absl::StatusOr<FhirResource> GoalResource(const v1::Goal& g, const v1::Participant& subject,
                                          const MappingContext& ctx) {
  ResourceWriter r(ctx, "Goal", g.name());
  JsonWriter& w = r.w();
  r.Meta(ctx.urls.profile_goal);
  Narrative(r, g);

  LazyArray ext(&w, "extension");
  r.RevisionExtension(ext, g.meta().revision());
  r.ExtensionString(ext, ctx.urls.ext_everyday_signs, g.everyday_signs());
  r.ExtensionCoding(
      ext, ctx.urls.ext_goal_visibility, ctx.urls.cs_goal_visibility,
      VisibilityConcept(g.visibility() == v1::Goal::VISIBILITY_UNSPECIFIED ? v1::Goal::EPISODE
                                                                           : g.visibility()));
  r.ExtensionPositiveInt(ext, ctx.urls.ext_goal_rank, g.priority());
  UnderstandingExtension(r, ext, g);
  r.ExtensionPerson(ext, ctx.urls.ext_transcribed_by, g.transcribed_by());
  r.PreservedExtensions(ext);
  ext.Close();

  r.Identifier();
  w.TrustedField("lifecycleStatus", LifecycleStatus(g.status()));
  if (g.status() == v1::Goal::ACHIEVED) {
    w.Key("achievementStatus");
    r.CodeableConcept(kGoalAchievement, {"achieved", "Achieved"});
  }
  // goal-category "behavioral" (fhir-facts.md 1.1, core example codes).
  w.Key("category");
  w.BeginArray();
  r.CodeableConcept(kGoalCategory, {"behavioral", "Behavioral"});
  w.EndArray();
  if (g.priority() > 0)
    r.CodeableConceptField("priority", kGoalPriority, PriorityConcept(g.priority()));
  w.Key("description");
  w.BeginObject();
  w.Field("text", g.words());
  w.EndObject();
  r.PersonRef("subject", subject.person());
  if (!IsUnset(g.meta().create_time())) {
    w.Key("startDate");
    w.Date(g.meta().create_time(), "goal.meta.create_time");
  }
  // The 0-10 rating every rater gives in reviews; 10 = fully reached.
  w.Key("target");
  w.BeginArray();
  w.BeginObject();
  r.CodeableConceptField("measure", ctx.urls.cs_instrument, kGoalRating);
  w.Key("detailQuantity");
  r.ScoreQuantity(10, "Goal.target[0].detailQuantity.value", "goal");
  w.EndObject();
  w.EndArray();
  if (!IsUnset(g.meta().update_time())) {
    w.Key("statusDate");
    w.Date(g.meta().update_time(), "goal.meta.update_time");
  }
  r.PersonRef("expressedBy", g.owner());
  Notes(r, g);
  return r.Finish(g, "goal");
}

absl::StatusOr<FhirResource> GoalProvenance(const v1::Goal& g, const MappingContext& ctx) {
  const int64_t revision = g.meta().revision();
  ResourceWriter r(ctx, "Provenance", absl::StrCat(g.name(), "/provenance/", revision), true);
  JsonWriter& w = r.w();
  r.Meta("");
  r.BeginNarrative();
  w.Markup("<p>Revision ");
  w.Markup(absl::StrCat(revision));
  w.Markup(" of a goal authored by ");
  NarratePerson(r, g.owner());
  w.Markup(", in their own words:</p><blockquote>");
  w.Text(g.words());
  w.Markup("</blockquote>");
  r.EndNarrative();
  w.Key("target");
  w.BeginArray();
  w.BeginObject();
  r.RecordRefBody("Goal", g.name());
  w.EndObject();
  w.EndArray();
  w.Key("recorded");
  w.Instant(g.meta().update_time(), "goal.meta.update_time");
  if (IsUnset(g.meta().update_time())) w.Fail("goal.meta.update_time");
  w.Key("activity");
  r.CodeableConcept(kV3DataOperation,
                    revision <= 1 ? Concept{"CREATE", "create"} : Concept{"UPDATE", "revise"});
  w.Key("agent");
  w.BeginArray();
  const auto agent = [&](Concept type, absl::string_view who) {
    w.BeginObject();
    w.Key("type");
    r.CodeableConcept(kProvenanceParticipantType, type);
    r.PersonRef("who", who);
    w.EndObject();
  };
  agent({"author", "Author"}, g.owner());
  // Whoever else put this revision into the record (the therapist who transcribed the goal,
  // or who wrote this revision, e.g. a restatement) entered it.
  if (!g.transcribed_by().empty() && g.transcribed_by() != g.owner()) {
    agent({"enterer", "Enterer"}, g.transcribed_by());
  }
  const std::string& writer = g.meta().updated_by();
  if (!writer.empty() && writer != g.owner() && writer != g.transcribed_by()) {
    agent({"enterer", "Enterer"}, writer);
  }
  w.EndArray();
  return r.Finish(g, "goal");
}

}  // namespace

absl::StatusOr<std::vector<FhirResource>> GoalToFhir(const v1::Goal& goal,
                                                     const MappingContext& ctx) {
  if (ctx.episode == nullptr) {
    return absl::FailedPreconditionError("MappingContext.episode: required for a goal");
  }
  if (goal.name().empty()) return absl::InvalidArgumentError("goal.name: required");
  if (IsBlank(goal.words())) return absl::InvalidArgumentError("goal.words: required");
  if (goal.owner().empty()) return absl::InvalidArgumentError("goal.owner: required");
  if (LifecycleStatus(goal.status()).empty()) {
    return absl::InvalidArgumentError("goal.status: required");
  }
  const v1::Participant* subject = internal::SubjectFor(*ctx.episode, goal.owner());
  if (subject == nullptr) {
    return absl::FailedPreconditionError("episode.participants: no CLIENT is a Patient");
  }
  std::vector<FhirResource> out;
  out.reserve(2);
  ASSIGN_OR_RETURN(FhirResource resource, GoalResource(goal, *subject, ctx));
  out.push_back(std::move(resource));
  ASSIGN_OR_RETURN(FhirResource provenance, GoalProvenance(goal, ctx));
  out.push_back(std::move(provenance));
  return out;
}

}  // namespace collabcare::fhir
