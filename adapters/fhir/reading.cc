// FHIR R4 → domain readers (see reading.h).
#include "adapters/fhir/reading.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/codes.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/mapping_util.h"
#include "adapters/fhir/read_util.h"
#include "plugin/common/status_macros.h"
#include "plugin/domain/validation.h"

namespace collabcare::fhir {
namespace {

using internal::CheckElements;
using internal::CodeFrom;
using internal::Elem;
using internal::Extensions;
using internal::IdentifierFrom;
using internal::InEpisode;
using internal::Known;
using internal::ParseResource;
using internal::PersonFrom;
using internal::RecordKeyFrom;
using internal::SplitKey;

constexpr auto kClient = v1::Participant::CLIENT;
constexpr auto kFamily = v1::Participant::FAMILY_MEMBER;
constexpr auto kTherapist = v1::Participant::THERAPIST;

absl::Status NeedEpisode(const ReadContext& ctx) {
  if (ctx.episode == nullptr) {
    return absl::FailedPreconditionError("ReadContext.episode: required");
  }
  return absl::OkStatus();
}

// A verbatim text element: present, valid UTF-8, at most the domain's limit.
absl::StatusOr<std::string> Words(const Elem& e, bool required) {
  ASSIGN_OR_RETURN(std::string s, required ? e.RequiredString() : e.OptionalString());
  RETURN_IF_ERROR(domain::ValidateText(s, e.path(), required));
  return s;
}

// A valueCoding extension's code from `system`, mapped by `from_code`.
template <typename Enum, typename FromCode>
absl::StatusOr<Enum> CodingValue(const Elem& ext, absl::string_view system, FromCode from_code) {
  const Elem coding = ext.Get("valueCoding");
  RETURN_IF_ERROR(coding.Object(true));
  ASSIGN_OR_RETURN(std::string sys, coding.Get("system").RequiredString());
  if (sys != system) return coding.Get("system").Error(absl::StrCat("must be ", system));
  ASSIGN_OR_RETURN(std::string code, coding.Get("code").RequiredString());
  const std::optional<Enum> value = from_code(code);
  if (!value.has_value()) return coding.Get("code").Error("is not a code of its code system");
  return *value;
}

// A CodeableConcept's code from `system`, mapped by `from_code`.
template <typename Enum, typename FromCode>
absl::StatusOr<Enum> ConceptValue(const Elem& cc, absl::string_view system, FromCode from_code) {
  ASSIGN_OR_RETURN(std::string code, CodeFrom(cc, system));
  const std::optional<Enum> value = from_code(code);
  if (!value.has_value()) return cc.Get("coding").Error("has a code outside its code system");
  return *value;
}

// The first coding of a CodeableConcept as a domain Code.
absl::StatusOr<v1::Code> CodeOf(const Elem& cc) {
  RETURN_IF_ERROR(cc.Object(true));
  ASSIGN_OR_RETURN(std::vector<Elem> codings, cc.Get("coding").Items(true));
  const Elem& coding = codings.front();
  RETURN_IF_ERROR(coding.Object(true));
  v1::Code code;
  ASSIGN_OR_RETURN(std::string system, coding.Get("system").RequiredString());
  ASSIGN_OR_RETURN(std::string value, coding.Get("code").RequiredString());
  ASSIGN_OR_RETURN(std::string display, coding.Get("display").OptionalString());
  if (value.size() > domain::kMaxCodeBytes) return coding.Get("code").Error("is too long");
  if (system.size() > domain::kMaxUriBytes) return coding.Get("system").Error("is too long");
  RETURN_IF_ERROR(domain::ValidateText(display, coding.Get("display").path(), false,
                                       domain::kMaxCodeDisplayBytes));
  code.set_system(system);
  code.set_code(value);
  code.set_display(display);
  return code;
}

// Observation.status of a reading collabcare can take back.
absl::Status FinalStatus(const Elem& status) {
  ASSIGN_OR_RETURN(std::string s, status.RequiredString());
  if (s != "final" && s != "amended" && s != "corrected") {
    return status.Error("must be final, amended or corrected");
  }
  return absl::OkStatus();
}

const domain::ThresholdTable& Thresholds(const ReadContext& ctx) {
  return ctx.thresholds != nullptr ? *ctx.thresholds : domain::DefaultThresholds();
}

// ---- Goal ----

absl::Status ReadUnderstanding(const Elem& ext, const ReadContext& ctx, v1::Understanding* u,
                               Preserved* p) {
  ASSIGN_OR_RETURN(std::vector<Elem> subs, ext.Get("extension").Items(true));
  for (const Elem& sub : subs) {
    RETURN_IF_ERROR(sub.Object(true));
    ASSIGN_OR_RETURN(std::string url, sub.Get("url").RequiredString());
    if (url == "restatement") {
      ASSIGN_OR_RETURN(std::string s, Words(sub.Get("valueString"), true));
      u->set_restatement(s);
    } else if (url == "restatedBy") {
      ASSIGN_OR_RETURN(std::string who,
                       PersonFrom(sub.Get("valueReference"), *ctx.episode, {kTherapist}));
      u->set_restated_by(who);
    } else if (url == "restateTime") {
      ASSIGN_OR_RETURN(*u->mutable_restate_time(), sub.Get("valueDateTime").Instant());
    } else if (url == "verdict") {
      ASSIGN_OR_RETURN(
          v1::Understanding::Verdict v,
          CodingValue<v1::Understanding::Verdict>(sub, ctx.urls.cs_understanding, VerdictFromCode));
      u->set_verdict(v);
    } else if (url == "correction") {
      ASSIGN_OR_RETURN(std::string s, Words(sub.Get("valueString"), true));
      u->set_correction(s);
    } else if (url == "verdictTime") {
      ASSIGN_OR_RETURN(*u->mutable_verdict_time(), sub.Get("valueDateTime").Instant());
    } else {
      p->reported.push_back(sub.path());
    }
  }
  if (u->restatement().empty()) {
    return ext.Get("extension").Error("needs a restatement");
  }
  if (u->verdict() == v1::Understanding::VERDICT_UNSPECIFIED) {
    u->set_verdict(v1::Understanding::UNCONFIRMED);
  }
  return absl::OkStatus();
}

absl::Status ReadTarget(const Elem& root, const ReadContext& ctx, Preserved* p) {
  ASSIGN_OR_RETURN(std::vector<Elem> targets, root.Get("target").Items(false));
  for (size_t i = 0; i < targets.size(); ++i) {
    const Elem& t = targets[i];
    RETURN_IF_ERROR(t.Object(true));
    if (i > 0) {
      p->reported.push_back(t.path());
      continue;
    }
    // gol-1: a measure whenever a detail is given; collabcare's is the 0-10 goal rating.
    ASSIGN_OR_RETURN(std::string measure, CodeFrom(t.Get("measure"), ctx.urls.cs_instrument));
    if (measure != kGoalRating.code) {
      return t.Get("measure").Error("must be the goal rating");
    }
    const Elem q = t.Get("detailQuantity");
    RETURN_IF_ERROR(q.Object(true));
    std::string text;
    ASSIGN_OR_RETURN(double value, q.Get("value").Number(&text));
    if (value < 0 || value > 10) return q.Get("value").Error("must be between 0 and 10");
    p->decimals[q.Get("value").path()] = text;
    for (const JsonValue::Member& m : t.value()->members()) {
      if (m.first != "measure" && m.first != "detailQuantity") {
        p->reported.push_back(absl::StrCat(t.path(), ".", m.first));
      }
    }
  }
  return absl::OkStatus();
}

// goal-status (required binding) → Goal.Status. planned and accepted are agreed goals not yet
// pursued (ACTIVE); rejected is what the owner let go. entered-in-error has no domain meaning.
absl::StatusOr<v1::Goal::Status> GoalStatus(const Elem& e) {
  ASSIGN_OR_RETURN(std::string s, e.RequiredString());
  if (s == "proposed") return v1::Goal::PROPOSED;
  if (s == "planned" || s == "accepted" || s == "active") return v1::Goal::ACTIVE;
  if (s == "on-hold") return v1::Goal::PAUSED;
  if (s == "completed") return v1::Goal::ACHIEVED;
  if (s == "cancelled" || s == "rejected") return v1::Goal::LET_GO;
  return e.Error("must be a goal-status collabcare can hold");
}

}  // namespace

absl::StatusOr<FromFhir<v1::Goal>> GoalFromFhir(absl::string_view json, const ReadContext& ctx) {
  RETURN_IF_ERROR(NeedEpisode(ctx));
  ASSIGN_OR_RETURN(JsonValue doc, ParseResource(json, "Goal"));
  const Elem root(&doc, "Goal");
  FromFhir<v1::Goal> out;
  v1::Goal& g = out.record;
  Preserved p;
  RETURN_IF_ERROR(
      CheckElements(root,
                    {"lifecycleStatus", "achievementStatus", "category", "priority", "description",
                     "subject", "startDate", "target", "statusDate", "expressedBy", "note"},
                    &p));
  ASSIGN_OR_RETURN(std::string name, IdentifierFrom(root, ctx.urls, false));
  RETURN_IF_ERROR(SplitKey(name, "goals", "", nullptr, root.Get("identifier")).status());
  if (!InEpisode(name, *ctx.episode)) {
    return root.Get("identifier").Error("names a goal of another episode");
  }
  g.set_name(name);
  ASSIGN_OR_RETURN(v1::Goal::Status status, GoalStatus(root.Get("lifecycleStatus")));
  g.set_status(status);
  const Elem desc = root.Get("description");
  RETURN_IF_ERROR(desc.Object(true));
  ASSIGN_OR_RETURN(std::string words, Words(desc.Get("text"), true));
  g.set_words(words);
  if (desc.Get("coding").present()) p.reported.push_back(desc.Get("coding").path());
  ASSIGN_OR_RETURN(std::string owner,
                   PersonFrom(root.Get("expressedBy"), *ctx.episode, {kClient, kFamily}));
  g.set_owner(owner);
  RETURN_IF_ERROR(PersonFrom(root.Get("subject"), *ctx.episode, {kClient}).status());
  if (root.Get("priority").present()) {
    ASSIGN_OR_RETURN(std::string code, CodeFrom(root.Get("priority"), kGoalPriority));
    if (code == "high-priority") {
      g.set_priority(1);
    } else if (code == "medium-priority") {
      g.set_priority(2);
    } else if (code == "low-priority") {
      g.set_priority(3);
    } else {
      return root.Get("priority").Error("has a code outside goal-priority");
    }
  }
  RETURN_IF_ERROR(ReadTarget(root, ctx, &p));
  g.set_visibility(v1::Goal::EPISODE);
  bool understood = false;
  RETURN_IF_ERROR(
      Extensions(root, &p, [&](const std::string& url, const Elem& ext) -> absl::StatusOr<bool> {
        const CanonicalUrls& u = ctx.urls;
        if (url == u.ext_record_revision) {
          ASSIGN_OR_RETURN(int64_t rev, ext.Get("valuePositiveInt").PositiveInt());
          g.mutable_meta()->set_revision(rev);
        } else if (url == u.ext_everyday_signs) {
          ASSIGN_OR_RETURN(std::string signs, Words(ext.Get("valueString"), true));
          g.set_everyday_signs(signs);
        } else if (url == u.ext_goal_visibility) {
          ASSIGN_OR_RETURN(
              v1::Goal::Visibility v,
              CodingValue<v1::Goal::Visibility>(ext, u.cs_goal_visibility, VisibilityFromCode));
          g.set_visibility(v);
        } else if (url == u.ext_goal_rank) {
          ASSIGN_OR_RETURN(int64_t rank, ext.Get("valuePositiveInt").PositiveInt());
          if (rank > domain::kMaxPriority) return ext.Get("valuePositiveInt").Error("is too large");
          g.set_priority(static_cast<int32_t>(rank));
        } else if (url == u.ext_understanding) {
          RETURN_IF_ERROR(ReadUnderstanding(ext, ctx, g.mutable_understanding(), &p));
          understood = true;
        } else if (url == u.ext_transcribed_by) {
          ASSIGN_OR_RETURN(std::string who,
                           PersonFrom(ext.Get("valueReference"), *ctx.episode, {kTherapist}));
          g.set_transcribed_by(who);
        } else {
          return false;
        }
        return true;
      }));
  // The notes render the understanding; without it they are someone else's and are reported.
  if (!understood && root.Get("note").present()) p.reported.push_back(root.Get("note").path());
  out.preserved[name] = std::move(p);
  return out;
}

// ---- Episode ----

absl::StatusOr<FromFhir<v1::Episode>> EpisodeFromFhir(
    absl::string_view care_team, const std::vector<absl::string_view>& care_plans,
    const ReadContext& ctx) {
  ASSIGN_OR_RETURN(JsonValue team_doc, ParseResource(care_team, "CareTeam"));
  const Elem team(&team_doc, "CareTeam");
  FromFhir<v1::Episode> out;
  v1::Episode& e = out.record;
  Preserved team_p;
  RETURN_IF_ERROR(
      CheckElements(team, {"status", "name", "subject", "period", "participant"}, &team_p));
  ASSIGN_OR_RETURN(std::string team_key, IdentifierFrom(team, ctx.urls, false));
  if (!absl::EndsWith(team_key, "/careteam")) {
    return team.Get("identifier").Error("must be a collabcare care team key");
  }
  const std::string episode_name = team_key.substr(0, team_key.size() - 9);
  if (!domain::ParseEpisodeName(episode_name, "name").ok()) {
    return team.Get("identifier").Error("must name an episode episodes/{episode}");
  }
  e.set_name(episode_name);
  ASSIGN_OR_RETURN(std::vector<Elem> members, team.Get("participant").Items(true));
  if (static_cast<int>(members.size()) > domain::kMaxParticipants) {
    return team.Get("participant").Error("has too many participants");
  }
  for (const Elem& m : members) {
    RETURN_IF_ERROR(m.Object(true));
    const Elem member = m.Get("member");
    RETURN_IF_ERROR(member.Object(true));
    ASSIGN_OR_RETURN(std::string person, member.Get("reference").RequiredString());
    RETURN_IF_ERROR(domain::ValidatePersonReference(person, member.Get("reference").path()));
    for (const v1::Participant& seen : e.participants()) {
      if (seen.person() == person) return member.Get("reference").Error("appears twice");
    }
    ASSIGN_OR_RETURN(std::string display, member.Get("display").OptionalString());
    RETURN_IF_ERROR(domain::ValidateText(display, member.Get("display").path(), false,
                                         domain::kMaxDisplayBytes));
    ASSIGN_OR_RETURN(std::vector<Elem> roles, m.Get("role").Items(true));
    ASSIGN_OR_RETURN(
        v1::Participant::Role role,
        ConceptValue<v1::Participant::Role>(roles[0], ctx.urls.cs_participant_role, RoleFromCode));
    v1::Participant* p = e.add_participants();
    p->set_person(person);
    p->set_role(role);
    p->set_display(display);
  }
  RETURN_IF_ERROR(Extensions(
      team, &team_p, [&](const std::string& url, const Elem& ext) -> absl::StatusOr<bool> {
        if (url != ctx.urls.ext_record_revision) return false;
        ASSIGN_OR_RETURN(int64_t rev, ext.Get("valuePositiveInt").PositiveInt());
        e.mutable_meta()->set_revision(rev);
        return true;
      }));
  out.preserved[team_key] = std::move(team_p);

  if (care_plans.empty()) return absl::InvalidArgumentError("CarePlan: at least one is required");
  for (size_t i = 0; i < care_plans.size(); ++i) {
    ASSIGN_OR_RETURN(JsonValue doc, ParseResource(care_plans[i], "CarePlan"));
    const Elem plan(&doc, "CarePlan");
    Preserved p;
    RETURN_IF_ERROR(CheckElements(plan,
                                  {"status", "intent", "category", "title", "subject", "period",
                                   "created", "author", "contributor", "careTeam", "goal"},
                                  &p));
    ASSIGN_OR_RETURN(std::string key, IdentifierFrom(plan, ctx.urls, false));
    ASSIGN_OR_RETURN(std::string client, PersonFrom(plan.Get("subject"), e, {kClient}));
    if (key != absl::StrCat(episode_name, "/careplans/", client)) {
      return plan.Get("identifier").Error("does not match the care team's episode and subject");
    }
    ASSIGN_OR_RETURN(std::vector<Elem> teams, plan.Get("careTeam").Items(true));
    ASSIGN_OR_RETURN(std::string team_ref, RecordKeyFrom(teams[0], "CareTeam", ctx.urls));
    if (team_ref != team_key) return teams[0].Error("is not the episode's care team");
    ASSIGN_OR_RETURN(std::string intent, plan.Get("intent").RequiredString());
    if (intent != "plan") return plan.Get("intent").Error("must be plan");
    ASSIGN_OR_RETURN(std::string status_code, plan.Get("status").RequiredString());
    v1::Episode::Status status;
    if (status_code == "active" || status_code == "on-hold" || status_code == "draft") {
      status = v1::Episode::ACTIVE;
    } else if (status_code == "completed" || status_code == "revoked") {
      status = v1::Episode::CLOSED;
    } else {
      return plan.Get("status").Error("must be a CarePlan status collabcare can hold");
    }
    v1::Episode::Format format = v1::Episode::FORMAT_UNSPECIFIED;
    v1::Episode::Modality modality = v1::Episode::MODALITY_UNSPECIFIED;
    int64_t revision = 0;
    RETURN_IF_ERROR(
        Extensions(plan, &p, [&](const std::string& url, const Elem& ext) -> absl::StatusOr<bool> {
          if (url == ctx.urls.ext_episode_format) {
            ASSIGN_OR_RETURN(format, CodingValue<v1::Episode::Format>(
                                         ext, ctx.urls.cs_episode_format, FormatFromCode));
          } else if (url == ctx.urls.ext_episode_modality) {
            ASSIGN_OR_RETURN(modality, CodingValue<v1::Episode::Modality>(
                                           ext, ctx.urls.cs_episode_modality, ModalityFromCode));
          } else if (url == ctx.urls.ext_record_revision) {
            ASSIGN_OR_RETURN(revision, ext.Get("valuePositiveInt").PositiveInt());
          } else {
            return false;
          }
          return true;
        }));
    if (format == v1::Episode::FORMAT_UNSPECIFIED) {
      return plan.Get("extension").Error("needs the episode-format extension");
    }
    if (modality == v1::Episode::MODALITY_UNSPECIFIED) {
      return plan.Get("extension").Error("needs the episode-modality extension");
    }
    if (i == 0) {
      e.set_format(format);
      e.set_modality(modality);
      e.set_status(status);
      if (revision > 0) e.mutable_meta()->set_revision(revision);
    } else if (e.format() != format || e.modality() != modality) {
      return plan.Get("extension").Error("differs from the episode's other care plans");
    } else if (e.status() != status) {
      return plan.Get("status").Error("differs from the episode's other care plans");
    }
    out.preserved[key] = std::move(p);
  }
  return out;
}

// ---- Hypothesis ----

absl::StatusOr<FromFhir<v1::Hypothesis>> HypothesisFromFhir(absl::string_view impression,
                                                            absl::string_view condition,
                                                            const ReadContext& ctx) {
  RETURN_IF_ERROR(NeedEpisode(ctx));
  ASSIGN_OR_RETURN(JsonValue doc, ParseResource(impression, "ClinicalImpression"));
  const Elem root(&doc, "ClinicalImpression");
  FromFhir<v1::Hypothesis> out;
  v1::Hypothesis& h = out.record;
  Preserved p;
  RETURN_IF_ERROR(CheckElements(root,
                                {"status", "code", "description", "subject", "date", "assessor",
                                 "previous", "problem", "summary", "finding", "note"},
                                &p));
  ASSIGN_OR_RETURN(std::string key, IdentifierFrom(root, ctx.urls, false));
  std::string rest;
  ASSIGN_OR_RETURN(std::string name,
                   SplitKey(key, "hypotheses", "revisions", &rest, root.Get("identifier")));
  int64_t revision = 0;
  if (!absl::SimpleAtoi(rest, &revision) || revision < 1) {
    return root.Get("identifier").Error("must end in /revisions/{n} with n >= 1");
  }
  if (!InEpisode(name, *ctx.episode)) {
    return root.Get("identifier").Error("names a hypothesis of another episode");
  }
  h.set_name(name);
  h.mutable_meta()->set_revision(revision);
  ASSIGN_OR_RETURN(std::string text, Words(root.Get("summary"), true));
  h.set_text(text);
  ASSIGN_OR_RETURN(std::string author,
                   PersonFrom(root.Get("assessor"), *ctx.episode, {kTherapist}));
  h.set_author(author);
  RETURN_IF_ERROR(PersonFrom(root.Get("subject"), *ctx.episode, {kClient}).status());
  ASSIGN_OR_RETURN(std::string status, root.Get("status").RequiredString());
  if (status != "in-progress" && status != "completed") {
    return root.Get("status").Error("must be in-progress or completed");
  }
  // Revisions form a chain: n points at n-1.
  const Elem previous = root.Get("previous");
  if (revision > 1) {
    ASSIGN_OR_RETURN(std::string prev, RecordKeyFrom(previous, "ClinicalImpression", ctx.urls));
    if (prev != absl::StrCat(name, "/revisions/", revision - 1)) {
      return previous.Error("must be the hypothesis's previous revision");
    }
  } else if (previous.present()) {
    return previous.Error("must be absent on the first revision");
  }
  if (root.Get("finding").present()) {
    ASSIGN_OR_RETURN(std::vector<Elem> findings, root.Get("finding").Items(true));
    ASSIGN_OR_RETURN(*h.mutable_code(), CodeOf(findings[0].Get("itemCodeableConcept")));
    for (size_t i = 1; i < findings.size(); ++i) p.reported.push_back(findings[i].path());
  }
  v1::Hypothesis::Status ext_status = v1::Hypothesis::STATUS_UNSPECIFIED;
  RETURN_IF_ERROR(
      Extensions(root, &p, [&](const std::string& url, const Elem& ext) -> absl::StatusOr<bool> {
        const CanonicalUrls& u = ctx.urls;
        if (url == u.ext_record_revision) {
          ASSIGN_OR_RETURN(int64_t rev, ext.Get("valuePositiveInt").PositiveInt());
          if (rev != revision) return ext.Error("differs from the identifier's revision");
        } else if (url == u.ext_hypothesis_kind) {
          ASSIGN_OR_RETURN(v1::Hypothesis::Kind kind, CodingValue<v1::Hypothesis::Kind>(
                                                          ext, u.cs_hypothesis_kind, KindFromCode));
          h.set_kind(kind);
        } else if (url == u.ext_tentativeness) {
          ASSIGN_OR_RETURN(v1::Hypothesis::Tentativeness t,
                           CodingValue<v1::Hypothesis::Tentativeness>(ext, u.cs_tentativeness,
                                                                      TentativenessFromCode));
          h.set_tentativeness(t);
        } else if (url == u.ext_hypothesis_status) {
          ASSIGN_OR_RETURN(ext_status, CodingValue<v1::Hypothesis::Status>(
                                           ext, u.cs_hypothesis_status, HypothesisStatusFromCode));
        } else if (url == u.ext_audience) {
          ASSIGN_OR_RETURN(std::string who,
                           PersonFrom(ext.Get("valueReference"), *ctx.episode, {kClient, kFamily}));
          h.add_audience(who);
        } else if (url == kPertainsToGoal) {
          ASSIGN_OR_RETURN(std::string goal,
                           RecordKeyFrom(ext.Get("valueReference"), "Goal", ctx.urls));
          if (!Known(ctx, goal) || !InEpisode(goal, *ctx.episode)) {
            return ext.Get("valueReference").Error("is not a known goal of the episode");
          }
          h.add_related_goals(goal);
        } else {
          return false;
        }
        return true;
      }));
  if (h.kind() == v1::Hypothesis::KIND_UNSPECIFIED) {
    ASSIGN_OR_RETURN(v1::Hypothesis::Kind kind,
                     ConceptValue<v1::Hypothesis::Kind>(root.Get("code"),
                                                        ctx.urls.cs_hypothesis_kind, KindFromCode));
    h.set_kind(kind);
  }
  if (h.tentativeness() == v1::Hypothesis::TENTATIVENESS_UNSPECIFIED) {
    return root.Get("extension").Error("needs the hypothesis-tentativeness extension");
  }
  // The FHIR status decides whether the conversation is open (an EHR may complete it); the
  // extension says how it closed.
  if (status == "in-progress") {
    h.set_status(v1::Hypothesis::OPEN);
  } else {
    h.set_status(ext_status == v1::Hypothesis::HELD_TOGETHER ? v1::Hypothesis::HELD_TOGETHER
                                                             : v1::Hypothesis::SET_ASIDE);
  }
  const Elem problem = root.Get("problem");
  if (problem.present()) {
    ASSIGN_OR_RETURN(std::vector<Elem> problems, problem.Items(true));
    ASSIGN_OR_RETURN(std::string cond, RecordKeyFrom(problems[0], "Condition", ctx.urls));
    if (cond != absl::StrCat(name, "/condition")) {
      return problems[0].Error("is not this hypothesis's condition");
    }
  }
  out.preserved[key] = std::move(p);

  if (!condition.empty()) {
    ASSIGN_OR_RETURN(JsonValue cdoc, ParseResource(condition, "Condition"));
    const Elem c(&cdoc, "Condition");
    Preserved cp;
    RETURN_IF_ERROR(CheckElements(c,
                                  {"clinicalStatus", "verificationStatus", "category", "code",
                                   "subject", "recordedDate", "recorder", "asserter", "evidence"},
                                  &cp));
    ASSIGN_OR_RETURN(std::string ckey, IdentifierFrom(c, ctx.urls, false));
    if (ckey != absl::StrCat(name, "/condition")) {
      return c.Get("identifier").Error("is not this hypothesis's condition");
    }
    if (h.kind() != v1::Hypothesis::PROFESSIONAL) {
      return c.Error("only a professional hypothesis has a condition");
    }
    ASSIGN_OR_RETURN(std::string verification,
                     CodeFrom(c.Get("verificationStatus"), kConditionVerification));
    if (verification == "entered-in-error" || verification == "refuted") {
      return c.Get("verificationStatus").Error("must still hold the hypothesis");
    }
    RETURN_IF_ERROR(PersonFrom(c.Get("subject"), *ctx.episode, {kClient}).status());
    ASSIGN_OR_RETURN(*h.mutable_code(), CodeOf(c.Get("code")));
    RETURN_IF_ERROR(Extensions(
        c, &cp, [](const std::string&, const Elem&) -> absl::StatusOr<bool> { return false; }));
    out.preserved[ckey] = std::move(cp);
  }
  return out;
}

// ---- Response ----

absl::StatusOr<FromFhir<v1::HypothesisResponse>> ResponseFromFhir(absl::string_view json,
                                                                  const ReadContext& ctx) {
  RETURN_IF_ERROR(NeedEpisode(ctx));
  ASSIGN_OR_RETURN(JsonValue doc, ParseResource(json, "Observation"));
  const Elem root(&doc, "Observation");
  FromFhir<v1::HypothesisResponse> out;
  v1::HypothesisResponse& r = out.record;
  Preserved p;
  RETURN_IF_ERROR(CheckElements(root,
                                {"status", "category", "code", "subject", "focus",
                                 "effectiveDateTime", "performer", "valueString", "component"},
                                &p));
  ASSIGN_OR_RETURN(std::string code, CodeFrom(root.Get("code"), ctx.urls.cs_record_kind));
  if (code != kKindResponse.code) return root.Get("code").Error("is not a hypothesis response");
  RETURN_IF_ERROR(FinalStatus(root.Get("status")));
  ASSIGN_OR_RETURN(std::string key, IdentifierFrom(root, ctx.urls, false));
  std::string person_in_key;
  ASSIGN_OR_RETURN(std::string name, SplitKey(key, "hypotheses", "responses", &person_in_key,
                                              root.Get("identifier")));
  ASSIGN_OR_RETURN(std::vector<Elem> performers, root.Get("performer").Items(true));
  ASSIGN_OR_RETURN(std::string person, PersonFrom(performers[0], *ctx.episode, {kClient, kFamily}));
  if (person != person_in_key) return root.Get("identifier").Error("names another respondent");
  r.set_person(person);
  RETURN_IF_ERROR(PersonFrom(root.Get("subject"), *ctx.episode, {kClient}).status());
  ASSIGN_OR_RETURN(std::vector<Elem> focus, root.Get("focus").Items(true));
  ASSIGN_OR_RETURN(std::string focus_key, RecordKeyFrom(focus[0], "ClinicalImpression", ctx.urls));
  std::string rev_text;
  absl::StatusOr<std::string> focus_name =
      SplitKey(focus_key, "hypotheses", "revisions", &rev_text, focus[0]);
  int64_t revision = 0;
  if (!focus_name.ok() || *focus_name != name || !absl::SimpleAtoi(rev_text, &revision) ||
      revision < 1) {
    return focus[0].Error("must be a revision of the hypothesis the response belongs to");
  }
  if (!Known(ctx, name) || !InEpisode(name, *ctx.episode)) {
    return focus[0].Error("is not a known hypothesis of the episode");
  }
  r.set_answered_revision(revision);
  out.parent = name;
  if (root.Get("effectiveDateTime").present()) {
    ASSIGN_OR_RETURN(*r.mutable_respond_time(), root.Get("effectiveDateTime").Instant());
  }
  ASSIGN_OR_RETURN(std::string words, Words(root.Get("valueString"), false));
  r.set_words(words);
  ASSIGN_OR_RETURN(std::vector<Elem> components, root.Get("component").Items(true));
  for (const Elem& c : components) {
    RETURN_IF_ERROR(c.Object(true));
    ASSIGN_OR_RETURN(std::string ccode, CodeFrom(c.Get("code"), ctx.urls.cs_record_kind));
    if (ccode != kKindResponseStance.code ||
        r.stance() != v1::HypothesisResponse::STANCE_UNSPECIFIED) {
      p.reported.push_back(c.path());
      continue;
    }
    ASSIGN_OR_RETURN(v1::HypothesisResponse::Stance stance,
                     ConceptValue<v1::HypothesisResponse::Stance>(
                         c.Get("valueCodeableConcept"), ctx.urls.cs_stance, StanceFromCode));
    r.set_stance(stance);
  }
  if (r.stance() == v1::HypothesisResponse::STANCE_UNSPECIFIED) {
    return root.Get("component").Error("needs the stance component");
  }
  RETURN_IF_ERROR(Extensions(
      root, &p, [](const std::string&, const Elem&) -> absl::StatusOr<bool> { return false; }));
  out.preserved[key] = std::move(p);
  return out;
}

// ---- Scores ----

absl::StatusOr<FromFhir<v1::Rating>> RatingFromFhir(absl::string_view json,
                                                    const ReadContext& ctx) {
  RETURN_IF_ERROR(NeedEpisode(ctx));
  ASSIGN_OR_RETURN(JsonValue doc, ParseResource(json, "Observation"));
  const Elem root(&doc, "Observation");
  FromFhir<v1::Rating> out;
  v1::Rating& r = out.record;
  Preserved p;
  RETURN_IF_ERROR(CheckElements(root,
                                {"status", "category", "code", "subject", "focus",
                                 "effectiveDateTime", "performer", "valueQuantity"},
                                &p));
  ASSIGN_OR_RETURN(std::string code, CodeFrom(root.Get("code"), ctx.urls.cs_instrument));
  if (code != kGoalRating.code) return root.Get("code").Error("is not a goal rating");
  RETURN_IF_ERROR(FinalStatus(root.Get("status")));
  ASSIGN_OR_RETURN(std::string key, IdentifierFrom(root, ctx.urls, false));
  std::string rest;
  ASSIGN_OR_RETURN(std::string review,
                   SplitKey(key, "reviews", "ratings", &rest, root.Get("identifier")));
  if (!Known(ctx, review) || !InEpisode(review, *ctx.episode)) {
    return root.Get("identifier").Error("names a review that is not known");
  }
  out.parent = review;
  ASSIGN_OR_RETURN(std::vector<Elem> performers, root.Get("performer").Items(true));
  ASSIGN_OR_RETURN(std::string rater, PersonFrom(performers[0], *ctx.episode));
  r.set_rater(rater);
  RETURN_IF_ERROR(PersonFrom(root.Get("subject"), *ctx.episode, {kClient}).status());
  ASSIGN_OR_RETURN(std::vector<Elem> focus, root.Get("focus").Items(true));
  ASSIGN_OR_RETURN(std::string goal, RecordKeyFrom(focus[0], "Goal", ctx.urls));
  if (!Known(ctx, goal) || !InEpisode(goal, *ctx.episode)) {
    return focus[0].Error("is not a known goal of the episode");
  }
  r.set_goal(goal);
  if (key != absl::StrCat(review, "/ratings/", rater, "/", internal::RelativeName(goal))) {
    return root.Get("identifier").Error("does not match the rater and the goal");
  }
  const Elem q = root.Get("valueQuantity");
  RETURN_IF_ERROR(q.Object(true));
  std::string text;
  ASSIGN_OR_RETURN(double score, q.Get("value").Number(&text));
  RETURN_IF_ERROR(domain::ValidateScore(score, q.Get("value").path()));
  r.set_score(score);
  p.decimals[q.Get("value").path()] = text;
  RETURN_IF_ERROR(Extensions(
      root, &p, [](const std::string&, const Elem&) -> absl::StatusOr<bool> { return false; }));
  out.preserved[key] = std::move(p);
  return out;
}

absl::StatusOr<FromFhir<v1::InstrumentScore>> InstrumentScoreFromFhir(absl::string_view json,
                                                                      const ReadContext& ctx) {
  RETURN_IF_ERROR(NeedEpisode(ctx));
  ASSIGN_OR_RETURN(JsonValue doc, ParseResource(json, "QuestionnaireResponse"));
  const Elem root(&doc, "QuestionnaireResponse");
  FromFhir<v1::InstrumentScore> out;
  v1::InstrumentScore& s = out.record;
  Preserved p;
  RETURN_IF_ERROR(CheckElements(
      root, {"questionnaire", "status", "subject", "authored", "author", "source", "item"}, &p));
  ASSIGN_OR_RETURN(std::string status, root.Get("status").RequiredString());
  if (status != "completed" && status != "amended") {
    return root.Get("status").Error("must be completed or amended");
  }
  // The instrument from the questionnaire's canonical: {base}/Questionnaire/{id in lower case}.
  const Elem q = root.Get("questionnaire");
  ASSIGN_OR_RETURN(std::string canonical, q.RequiredString());
  const std::string prefix = absl::StrCat(ctx.urls.base, "/Questionnaire/");
  const domain::InstrumentDef* def = nullptr;
  if (absl::StartsWith(canonical, prefix)) {
    def = Thresholds(ctx).Find(absl::AsciiStrToUpper(canonical.substr(prefix.size())));
  }
  if (def == nullptr) return q.Error("is not the questionnaire of a known instrument");
  s.set_instrument(def->id);
  ASSIGN_OR_RETURN(std::string key, IdentifierFrom(root, ctx.urls, true));
  std::string rest;
  ASSIGN_OR_RETURN(std::string review,
                   SplitKey(key, "reviews", "instruments", &rest, root.Get("identifier")));
  if (!Known(ctx, review) || !InEpisode(review, *ctx.episode)) {
    return root.Get("identifier").Error("names a review that is not known");
  }
  out.parent = review;
  ASSIGN_OR_RETURN(std::string rater, PersonFrom(root.Get("author"), *ctx.episode));
  s.set_rater(rater);
  if (rest != absl::StrCat(rater, "/", def->id)) {
    return root.Get("identifier").Error("does not match the author and the instrument");
  }
  RETURN_IF_ERROR(PersonFrom(root.Get("subject"), *ctx.episode, {kClient}).status());
  ASSIGN_OR_RETURN(std::vector<Elem> items, root.Get("item").Items(true));
  std::vector<double> values;
  for (size_t i = 0; i < items.size(); ++i) {
    const Elem& item = items[i];
    RETURN_IF_ERROR(item.Object(true));
    ASSIGN_OR_RETURN(std::string link, item.Get("linkId").RequiredString());
    if (link != absl::StrCat(i + 1))
      return item.Get("linkId").Error("must number the items 1, 2, …");
    ASSIGN_OR_RETURN(std::vector<Elem> answers, item.Get("answer").Items(true));
    if (answers.size() != 1) return item.Get("answer").Error("must hold one answer");
    const Elem answer = answers[0];
    RETURN_IF_ERROR(answer.Object(true));
    Elem value = answer.Get("valueDecimal");
    if (!value.present()) value = answer.Get("valueInteger");
    std::string text;
    ASSIGN_OR_RETURN(double v, value.Number(&text));
    if (v < def->item_min || v > def->item_max) {
      return value.Error("is outside the instrument's item range");
    }
    if (std::fabs(v * 10 - std::round(v * 10)) > 1e-6) {
      return value.Error("must have at most one decimal place");
    }
    p.decimals[value.path()] = text;
    values.push_back(v);
    s.add_items(v);
  }
  absl::StatusOr<double> total = domain::ScoreInstrument(*def, values, root.Get("item").path());
  if (!total.ok()) return total.status();
  s.set_total(*total);
  RETURN_IF_ERROR(Extensions(
      root, &p, [](const std::string&, const Elem&) -> absl::StatusOr<bool> { return false; }));
  out.preserved[key] = std::move(p);
  return out;
}

absl::StatusOr<FromFhir<v1::Review>> ReviewScoresFromFhir(
    const std::vector<absl::string_view>& resources, const ReadContext& ctx) {
  RETURN_IF_ERROR(NeedEpisode(ctx));
  FromFhir<v1::Review> out;
  struct Total {
    std::string key;
    std::string rater;
    std::string instrument;
    double value;
  };
  std::vector<Total> totals;
  const auto set_parent = [&](const std::string& parent, size_t i) -> absl::Status {
    if (out.parent.empty()) {
      out.parent = parent;
      out.record.set_name(parent);
    } else if (out.parent != parent) {
      return absl::InvalidArgumentError(
          absl::StrCat("resources[", i, "]: belongs to another review"));
    }
    return absl::OkStatus();
  };
  for (size_t i = 0; i < resources.size(); ++i) {
    absl::StatusOr<JsonValue> doc = ParseJson(resources[i]);
    if (!doc.ok() || !doc->is_object() || doc->Find("resourceType") == nullptr ||
        !doc->Find("resourceType")->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("resources[", i, "]: not a FHIR resource"));
    }
    const std::string& type = doc->Find("resourceType")->text();
    if (type == "QuestionnaireResponse") {
      ASSIGN_OR_RETURN(FromFhir<v1::InstrumentScore> s, InstrumentScoreFromFhir(resources[i], ctx));
      RETURN_IF_ERROR(set_parent(s.parent, i));
      *out.record.add_instrument_scores() = std::move(s.record);
      for (auto& [k, v] : s.preserved) out.preserved[k] = std::move(v);
      continue;
    }
    if (type != "Observation") {
      return absl::InvalidArgumentError(absl::StrCat(
          "resources[", i, "].resourceType: must be QuestionnaireResponse or Observation"));
    }
    const Elem root(&*doc, "Observation");
    ASSIGN_OR_RETURN(std::string code, CodeFrom(root.Get("code"), ctx.urls.cs_instrument));
    if (code == kGoalRating.code) {
      ASSIGN_OR_RETURN(FromFhir<v1::Rating> r, RatingFromFhir(resources[i], ctx));
      RETURN_IF_ERROR(set_parent(r.parent, i));
      *out.record.add_ratings() = std::move(r.record);
      for (auto& [k, v] : r.preserved) out.preserved[k] = std::move(v);
      continue;
    }
    // An instrument total: derived from its QuestionnaireResponse, checked below.
    if (Thresholds(ctx).Find(code) == nullptr) {
      return root.Get("code").Error("is neither a goal rating nor a known instrument");
    }
    Preserved p;
    RETURN_IF_ERROR(CheckElements(root,
                                  {"status", "category", "code", "subject", "effectiveDateTime",
                                   "performer", "valueQuantity", "derivedFrom"},
                                  &p));
    RETURN_IF_ERROR(FinalStatus(root.Get("status")));
    ASSIGN_OR_RETURN(std::string key, IdentifierFrom(root, ctx.urls, false));
    std::string rest;
    ASSIGN_OR_RETURN(std::string review,
                     SplitKey(key, "reviews", "totals", &rest, root.Get("identifier")));
    if (!Known(ctx, review) || !InEpisode(review, *ctx.episode)) {
      return root.Get("identifier").Error("names a review that is not known");
    }
    RETURN_IF_ERROR(set_parent(review, i));
    ASSIGN_OR_RETURN(std::vector<Elem> performers, root.Get("performer").Items(true));
    ASSIGN_OR_RETURN(std::string rater, PersonFrom(performers[0], *ctx.episode));
    const Elem q = root.Get("valueQuantity");
    RETURN_IF_ERROR(q.Object(true));
    std::string text;
    ASSIGN_OR_RETURN(double value, q.Get("value").Number(&text));
    p.decimals[q.Get("value").path()] = text;
    RETURN_IF_ERROR(Extensions(
        root, &p, [](const std::string&, const Elem&) -> absl::StatusOr<bool> { return false; }));
    totals.push_back({key, rater, code, value});
    out.preserved[key] = std::move(p);
  }
  for (const Total& t : totals) {
    bool found = false;
    for (const v1::InstrumentScore& s : out.record.instrument_scores()) {
      if (s.rater() != t.rater || s.instrument() != t.instrument) continue;
      found = true;
      if (std::fabs(s.total() - t.value) > 1e-9) {
        return absl::InvalidArgumentError(
            "Observation.valueQuantity.value: differs from its questionnaire response's total");
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(
          "Observation.derivedFrom: the questionnaire response of this total is missing");
    }
  }
  return out;
}

}  // namespace collabcare::fhir
