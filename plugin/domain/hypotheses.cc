// Rules for hypotheses.
#include "plugin/domain/hypotheses.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "plugin/common/status_macros.h"
#include "plugin/domain/access.h"
#include "plugin/domain/timestamps.h"
#include "plugin/domain/validation.h"

namespace collabcare::domain {
namespace {

namespace v1 = ::collabcare::v1;

absl::Status ValidateKind(int kind) {
  if (!v1::Hypothesis::Kind_IsValid(kind) || kind == v1::Hypothesis::KIND_UNSPECIFIED) {
    return FieldError("hypothesis.kind", "must be PROFESSIONAL, PERSONAL or THEORETICAL");
  }
  return absl::OkStatus();
}

absl::Status ValidateTentativeness(int t) {
  if (!v1::Hypothesis::Tentativeness_IsValid(t) || t == v1::Hypothesis::TENTATIVENESS_UNSPECIFIED) {
    return FieldError("hypothesis.tentativeness",
                      "must be WONDERING, CONSIDERING or FAIRLY_CONFIDENT");
  }
  return absl::OkStatus();
}

absl::Status ValidateStatus(int status, bool allow_unspecified) {
  if (!v1::Hypothesis::Status_IsValid(status) ||
      (!allow_unspecified && status == v1::Hypothesis::STATUS_UNSPECIFIED)) {
    return FieldError("hypothesis.status", "must be OPEN, SET_ASIDE or HELD_TOGETHER");
  }
  return absl::OkStatus();
}

absl::Status ValidateCode(const v1::Hypothesis& h) {
  if (!h.has_code()) return absl::OkStatus();
  const v1::Code& c = h.code();
  if (h.kind() != v1::Hypothesis::PROFESSIONAL) {
    return FieldError("hypothesis.code", "is only for PROFESSIONAL hypotheses");
  }
  RETURN_IF_ERROR(ValidateText(c.system(), "hypothesis.code.system", true, kMaxUriBytes));
  RETURN_IF_ERROR(ValidateText(c.code(), "hypothesis.code.code", true, kMaxCodeBytes));
  RETURN_IF_ERROR(
      ValidateText(c.display(), "hypothesis.code.display", false, kMaxCodeDisplayBytes));
  if (c.system().find(':') == std::string::npos) {
    return FieldError("hypothesis.code.system", "must be an absolute URI");
  }
  return absl::OkStatus();
}

absl::Status ValidateRelatedGoals(const v1::Hypothesis& h,
                                  const std::set<std::string>& episode_goals) {
  if (h.related_goals_size() > kMaxListItems) {
    return FieldError("hypothesis.related_goals", "may hold at most 64 goals");
  }
  for (int i = 0; i < h.related_goals_size(); ++i) {
    if (!episode_goals.count(h.related_goals(i))) {
      return FieldError(absl::StrCat("hypothesis.related_goals[", i, "]"),
                        "is not a goal of this episode");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAudience(const v1::Episode& episode, const v1::Hypothesis& h) {
  if (h.audience_size() > kMaxListItems) {
    return FieldError("hypothesis.audience", "may hold at most 64 people");
  }
  std::set<std::string> seen;
  bool client_side = false;
  for (int i = 0; i < h.audience_size(); ++i) {
    const std::string field = absl::StrCat("hypothesis.audience[", i, "]");
    RETURN_IF_ERROR(ValidatePersonReference(h.audience(i), field));
    if (!RoleOf(episode, h.audience(i))) {
      return FieldError(field, "is not a participant of this episode");
    }
    if (!seen.insert(h.audience(i)).second) return FieldError(field, "appears twice");
    client_side = client_side || IsClientSide(episode, h.audience(i));
  }
  if (h.audience_size() > 0 && !client_side) {
    return FieldError("hypothesis.audience",
                      "must hold at least one CLIENT or FAMILY_MEMBER: hypotheses are shared "
                      "with the people they are about");
  }
  if (h.audience_size() == 0 && EffectiveAudience(episode, h).empty()) {
    return FieldError("hypothesis.audience", "the episode has no client or family member");
  }
  return absl::OkStatus();
}

absl::Status RequireTherapist(const v1::Episode& episode, const std::string& caller) {
  if (!IsTherapist(episode, caller)) {
    return absl::PermissionDeniedError("only a therapist may share or revise a hypothesis");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Hypothesis> NewHypothesis(const v1::Episode& episode, const std::string& caller,
                                             const v1::Hypothesis& input,
                                             const std::set<std::string>& episode_goals) {
  RETURN_IF_ERROR(ValidateKind(input.kind()));
  RETURN_IF_ERROR(ValidateText(input.text(), "hypothesis.text", /*required=*/true));
  RETURN_IF_ERROR(ValidateCode(input));
  RETURN_IF_ERROR(ValidateTentativeness(input.tentativeness()));
  RETURN_IF_ERROR(ValidateStatus(input.status(), /*allow_unspecified=*/true));
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  RETURN_IF_ERROR(RequireTherapist(episode, caller));
  RETURN_IF_ERROR(ValidateAudience(episode, input));
  RETURN_IF_ERROR(ValidateRelatedGoals(input, episode_goals));
  v1::Hypothesis h;
  h.set_author(caller);
  h.set_kind(input.kind());
  h.set_text(input.text());
  if (input.has_code()) *h.mutable_code() = input.code();
  h.set_tentativeness(input.tentativeness());
  *h.mutable_related_goals() = input.related_goals();
  *h.mutable_audience() = input.audience();
  h.set_status(input.status() == v1::Hypothesis::STATUS_UNSPECIFIED ? v1::Hypothesis::OPEN
                                                                    : input.status());
  return h;
}

absl::StatusOr<v1::Hypothesis> ReviseHypothesis(const v1::Episode& episode,
                                                const std::string& caller,
                                                const v1::Hypothesis& current,
                                                const v1::Hypothesis& patch,
                                                const std::vector<std::string>& mask,
                                                const std::set<std::string>& episode_goals) {
  if (mask.empty()) return FieldError("update_mask", "must name at least one field");
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  RETURN_IF_ERROR(RequireTherapist(episode, caller));
  v1::Hypothesis next = current;
  for (const std::string& path : mask) {
    if (path == "kind") {
      RETURN_IF_ERROR(ValidateKind(patch.kind()));
      next.set_kind(patch.kind());
    } else if (path == "text") {
      RETURN_IF_ERROR(ValidateText(patch.text(), "hypothesis.text", /*required=*/true));
      next.set_text(patch.text());
    } else if (path == "code") {
      if (patch.has_code()) {
        *next.mutable_code() = patch.code();
      } else {
        next.clear_code();
      }
    } else if (path == "tentativeness") {
      RETURN_IF_ERROR(ValidateTentativeness(patch.tentativeness()));
      next.set_tentativeness(patch.tentativeness());
    } else if (path == "related_goals") {
      RETURN_IF_ERROR(ValidateRelatedGoals(patch, episode_goals));
      *next.mutable_related_goals() = patch.related_goals();
    } else if (path == "audience") {
      RETURN_IF_ERROR(ValidateAudience(episode, patch));
      *next.mutable_audience() = patch.audience();
    } else if (path == "status") {
      RETURN_IF_ERROR(ValidateStatus(patch.status(), /*allow_unspecified=*/false));
      next.set_status(patch.status());
    } else {
      return FieldError("update_mask",
                        "may name only kind, text, code, tentativeness, related_goals, "
                        "audience and status");
    }
  }
  RETURN_IF_ERROR(ValidateCode(next));  // a code must still fit the (possibly new) kind
  // Answers from people no longer in the audience stay in the revisions only.
  const std::vector<std::string> audience = EffectiveAudience(episode, next);
  auto* responses = next.mutable_responses();
  responses->erase(std::remove_if(responses->begin(), responses->end(),
                                  [&](const v1::HypothesisResponse& r) {
                                    return std::find(audience.begin(), audience.end(),
                                                     r.person()) == audience.end();
                                  }),
                   responses->end());
  return next;
}

absl::StatusOr<v1::Hypothesis> RespondToHypothesis(const v1::Episode& episode,
                                                   const std::string& caller,
                                                   const v1::Hypothesis& current, int stance,
                                                   const std::string& words, absl::Time now) {
  if (!v1::HypothesisResponse::Stance_IsValid(stance) ||
      stance == v1::HypothesisResponse::STANCE_UNSPECIFIED) {
    return FieldError("stance", "must be FITS, PARTLY_FITS, DOES_NOT_FIT, NOT_NOW or WANT_TO_TALK");
  }
  RETURN_IF_ERROR(ValidateText(words, "words", /*required=*/false));
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  const std::vector<std::string> audience = EffectiveAudience(episode, current);
  if (std::find(audience.begin(), audience.end(), caller) == audience.end()) {
    return absl::PermissionDeniedError(
        "only members of the hypothesis's audience may answer it, each for themselves");
  }
  v1::Hypothesis next = current;
  v1::HypothesisResponse* response = nullptr;
  for (v1::HypothesisResponse& r : *next.mutable_responses()) {
    if (r.person() == caller) response = &r;
  }
  if (response == nullptr) response = next.add_responses();
  response->Clear();
  response->set_person(caller);
  response->set_stance(static_cast<v1::HypothesisResponse::Stance>(stance));
  response->set_words(words);
  response->set_answered_revision(current.meta().revision());
  ToTimestamp(now, response->mutable_respond_time());
  return next;
}

}  // namespace collabcare::domain
