// Rules for shared progress reviews.
#include "plugin/domain/reviews.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "plugin/common/status_macros.h"
#include "plugin/domain/access.h"
#include "plugin/domain/timestamps.h"
#include "plugin/domain/validation.h"

namespace collabcare::domain {
namespace {

namespace v1 = ::collabcare::v1;

inline constexpr int kMaxRatingsPerCall = 64;
inline constexpr int kMaxInstrumentsPerCall = 16;

// Content may change only while the review is OPEN; a change clears every signature (they stay
// in the revisions) because they were given to content that no longer stands.
absl::Status BeginContentChange(const v1::Episode& episode, const std::string& caller,
                                v1::Review& review) {
  // A non-participant learns nothing about the episode, not even that it is closed.
  if (!RoleOf(episode, caller)) return absl::NotFoundError("episode not found");
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  if (review.status() == v1::Review::SIGNED) {
    return absl::FailedPreconditionError("the review is signed and can no longer change");
  }
  review.clear_signatures();
  review.set_status(v1::Review::OPEN);
  return absl::OkStatus();
}

void Field(std::string& out, absl::string_view tag, absl::string_view value) {
  absl::StrAppend(&out, tag, " ", value.size(), ":", value, "\n");
}

int64_t Tenths(double v) { return static_cast<int64_t>(std::llround(v * 10)); }

std::vector<int64_t> TenthsOf(const google::protobuf::RepeatedField<double>& items) {
  std::vector<int64_t> out;
  out.reserve(items.size());
  for (double item : items) out.push_back(Tenths(item));
  return out;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

}  // namespace

absl::StatusOr<v1::Review> NewReview(const v1::Episode& episode, const std::string& caller,
                                     const v1::Review& input,
                                     const std::vector<v1::Goal>& episode_goals) {
  if (input.goals_size() > kMaxListItems) {
    return FieldError("review.goals", "may hold at most 64 goals");
  }
  // Participation first: a non-participant gets NOT_FOUND, never PERMISSION_DENIED or
  // FAILED_PRECONDITION, which would reveal that the episode exists.
  if (!RoleOf(episode, caller)) return absl::NotFoundError("episode not found");
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  if (episode.format() == v1::Episode::THERAPIST_LED && !IsTherapist(episode, caller)) {
    return absl::PermissionDeniedError("in a therapist-led episode a therapist starts reviews");
  }
  v1::Review review;
  if (input.goals_size() == 0) {
    for (const v1::Goal& g : episode_goals) {
      if (g.status() == v1::Goal::ACTIVE && g.visibility() != v1::Goal::OWNER_AND_THERAPISTS) {
        review.add_goals(g.name());
      }
    }
  } else {
    std::set<std::string> seen;
    for (int i = 0; i < input.goals_size(); ++i) {
      const std::string field = absl::StrCat("review.goals[", i, "]");
      auto it = std::find_if(episode_goals.begin(), episode_goals.end(),
                             [&](const v1::Goal& g) { return g.name() == input.goals(i); });
      if (it == episode_goals.end()) return FieldError(field, "is not a goal of this episode");
      if (it->visibility() == v1::Goal::OWNER_AND_THERAPISTS) {
        return FieldError(field, "is not visible to every participant");
      }
      if (it->status() == v1::Goal::PROPOSED) {
        return FieldError(field, "is still PROPOSED; its owner has not accepted it yet");
      }
      if (!seen.insert(input.goals(i)).second) return FieldError(field, "appears twice");
      review.add_goals(input.goals(i));
    }
  }
  review.set_status(v1::Review::OPEN);
  review.set_content_sha256(ContentSha256(review));
  return review;
}

absl::StatusOr<v1::Review> SubmitRatings(const v1::Episode& episode, const std::string& caller,
                                         const v1::Review& current,
                                         const std::vector<v1::Rating>& ratings,
                                         const std::vector<v1::InstrumentScore>& scores,
                                         const ThresholdTable& thresholds) {
  if (ratings.empty() && scores.empty()) {
    return FieldError("ratings", "submit at least one rating or instrument score");
  }
  if (ratings.size() > kMaxRatingsPerCall) return FieldError("ratings", "at most 64 per call");
  if (scores.size() > kMaxInstrumentsPerCall) {
    return FieldError("instrument_scores", "at most 16 per call");
  }
  std::set<std::string> goals_seen;
  for (size_t i = 0; i < ratings.size(); ++i) {
    const std::string at = absl::StrCat("ratings[", i, "]");
    const v1::Rating& r = ratings[i];
    if (!r.rater().empty()) RETURN_IF_ERROR(ValidatePersonReference(r.rater(), at + ".rater"));
    RETURN_IF_ERROR(ValidateScore(r.score(), at + ".score"));
    if (std::find(current.goals().begin(), current.goals().end(), r.goal()) ==
        current.goals().end()) {
      return FieldError(at + ".goal", "is not under review");
    }
    if (!goals_seen.insert(r.goal()).second) return FieldError(at + ".goal", "appears twice");
  }
  std::vector<double> totals;
  std::set<std::string> instruments_seen;
  for (size_t i = 0; i < scores.size(); ++i) {
    const std::string at = absl::StrCat("instrument_scores[", i, "]");
    const v1::InstrumentScore& s = scores[i];
    if (!s.rater().empty()) RETURN_IF_ERROR(ValidatePersonReference(s.rater(), at + ".rater"));
    const InstrumentDef* def = thresholds.Find(s.instrument());
    if (def == nullptr) return FieldError(at + ".instrument", "is not a known instrument");
    ASSIGN_OR_RETURN(double total,
                     ScoreInstrument(*def, {s.items().begin(), s.items().end()}, at + ".items"));
    totals.push_back(total);
    if (!instruments_seen.insert(s.instrument()).second) {
      return FieldError(at + ".instrument", "appears twice");
    }
  }
  for (const v1::Rating& r : ratings) {
    if (!r.rater().empty() && r.rater() != caller) {
      return absl::PermissionDeniedError("each participant rates only for themselves");
    }
  }
  for (const v1::InstrumentScore& s : scores) {
    if (!s.rater().empty() && s.rater() != caller) {
      return absl::PermissionDeniedError("each participant rates only for themselves");
    }
    if (thresholds.Find(s.instrument())->client_side_only && !IsClientSide(episode, caller)) {
      return absl::PermissionDeniedError(
          absl::StrCat(s.instrument(), " is completed by clients and family members"));
    }
  }

  v1::Review next = current;
  RETURN_IF_ERROR(BeginContentChange(episode, caller, next));
  for (const v1::Rating& r : ratings) {
    auto* all = next.mutable_ratings();
    all->erase(std::remove_if(all->begin(), all->end(),
                              [&](const v1::Rating& old) {
                                return old.rater() == caller && old.goal() == r.goal();
                              }),
               all->end());
    v1::Rating* added = next.add_ratings();
    added->set_rater(caller);
    added->set_goal(r.goal());
    added->set_score(static_cast<double>(Tenths(r.score())) / 10);
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    auto* all = next.mutable_instrument_scores();
    all->erase(std::remove_if(all->begin(), all->end(),
                              [&](const v1::InstrumentScore& old) {
                                return old.rater() == caller &&
                                       old.instrument() == scores[i].instrument();
                              }),
               all->end());
    v1::InstrumentScore* added = next.add_instrument_scores();
    added->set_rater(caller);
    added->set_instrument(scores[i].instrument());
    for (double item : scores[i].items()) {
      added->add_items(static_cast<double>(Tenths(item)) / 10);
    }
    added->set_total(totals[i]);
  }
  next.set_content_sha256(ContentSha256(next));
  return next;
}

absl::StatusOr<v1::Review> AddReflection(const v1::Episode& episode, const std::string& caller,
                                         const v1::Review& current, const std::string& words) {
  RETURN_IF_ERROR(ValidateText(words, "words", /*required=*/true));
  v1::Review next = current;
  RETURN_IF_ERROR(BeginContentChange(episode, caller, next));
  v1::Reflection* mine = nullptr;
  for (v1::Reflection& r : *next.mutable_reflections()) {
    if (r.participant() == caller) mine = &r;
  }
  if (mine == nullptr) mine = next.add_reflections();
  mine->set_participant(caller);
  mine->set_words(words);
  next.set_content_sha256(ContentSha256(next));
  return next;
}

absl::StatusOr<v1::Review> AddNextStep(const v1::Episode& episode, const std::string& caller,
                                       const v1::Review& current, const v1::NextStep& step) {
  RETURN_IF_ERROR(ValidateText(step.text(), "next_step.text", /*required=*/true));
  if (!step.owner().empty()) {
    RETURN_IF_ERROR(ValidatePersonReference(step.owner(), "next_step.owner"));
    if (!RoleOf(episode, step.owner())) {
      return FieldError("next_step.owner", "is not a participant of this episode");
    }
  }
  if (!step.due_date().empty())
    RETURN_IF_ERROR(ValidateDate(step.due_date(), "next_step.due_date"));
  if (current.next_steps_size() >= 256) {
    return absl::FailedPreconditionError("a review holds at most 256 next steps");
  }
  v1::Review next = current;
  RETURN_IF_ERROR(BeginContentChange(episode, caller, next));
  v1::NextStep* added = next.add_next_steps();
  added->set_text(step.text());
  added->set_owner(step.owner().empty() ? caller : step.owner());
  added->set_due_date(step.due_date());
  added->set_added_by(caller);
  next.set_content_sha256(ContentSha256(next));
  return next;
}

absl::StatusOr<v1::Review> SignReview(const v1::Episode& episode, const std::string& caller,
                                      const v1::Review& current, const std::string& dissent,
                                      absl::Time now) {
  RETURN_IF_ERROR(ValidateText(dissent, "dissent", /*required=*/false));
  if (!RoleOf(episode, caller)) return absl::NotFoundError("episode not found");
  RETURN_IF_ERROR(RequireOpenEpisode(episode));
  if (current.status() == v1::Review::SIGNED) {
    return absl::FailedPreconditionError("the review is already signed by everyone");
  }
  v1::Review next = current;
  auto* sigs = next.mutable_signatures();
  sigs->erase(std::remove_if(sigs->begin(), sigs->end(),
                             [&](const v1::Signature& s) { return s.participant() == caller; }),
              sigs->end());
  const std::string digest = ContentSha256(next);
  v1::Signature* sig = next.add_signatures();
  sig->set_participant(caller);
  ToTimestamp(now, sig->mutable_sign_time());
  sig->set_content_sha256(digest);
  sig->set_dissent(dissent);
  next.set_content_sha256(digest);

  std::set<std::string> signers;
  for (const v1::Signature& s : next.signatures()) {
    if (s.content_sha256() == digest) signers.insert(s.participant());
  }
  bool every_client_side = true, a_therapist = false;
  for (const v1::Participant& p : episode.participants()) {
    const bool signed_it = signers.count(p.person()) > 0;
    if (IsClientSide(p.role())) every_client_side = every_client_side && signed_it;
    if (p.role() == v1::Participant::THERAPIST) a_therapist = a_therapist || signed_it;
  }
  if (every_client_side && a_therapist) next.set_status(v1::Review::SIGNED);
  return next;
}

std::string CanonicalContent(const v1::Review& review) {
  std::string out;
  Field(out, "review", review.name());
  for (const std::string& g : review.goals()) Field(out, "goal", g);

  std::vector<const v1::Rating*> ratings;
  for (const v1::Rating& r : review.ratings()) ratings.push_back(&r);
  std::sort(ratings.begin(), ratings.end(), [](const v1::Rating* a, const v1::Rating* b) {
    // The score breaks ties so that the order never depends on the stored order, even for a
    // review holding two ratings by one rater of one goal (SubmitRatings never writes one).
    const int64_t sa = Tenths(a->score()), sb = Tenths(b->score());
    return std::tie(a->rater(), a->goal(), sa) < std::tie(b->rater(), b->goal(), sb);
  });
  for (const v1::Rating* r : ratings) {
    Field(out, "rating.rater", r->rater());
    Field(out, "rating.goal", r->goal());
    Field(out, "rating.score", absl::StrCat(Tenths(r->score())));
  }

  std::vector<const v1::InstrumentScore*> scores;
  for (const v1::InstrumentScore& s : review.instrument_scores()) scores.push_back(&s);
  std::sort(scores.begin(), scores.end(),
            [](const v1::InstrumentScore* a, const v1::InstrumentScore* b) {
              const std::vector<int64_t> ia = TenthsOf(a->items()), ib = TenthsOf(b->items());
              return std::tie(a->rater(), a->instrument(), ia) <
                     std::tie(b->rater(), b->instrument(), ib);
            });
  for (const v1::InstrumentScore* s : scores) {
    Field(out, "instrument.rater", s->rater());
    Field(out, "instrument.id", s->instrument());
    for (double item : s->items()) Field(out, "instrument.item", absl::StrCat(Tenths(item)));
  }

  std::vector<const v1::Reflection*> reflections;
  for (const v1::Reflection& r : review.reflections()) reflections.push_back(&r);
  std::sort(
      reflections.begin(), reflections.end(), [](const v1::Reflection* a, const v1::Reflection* b) {
        return std::tie(a->participant(), a->words()) < std::tie(b->participant(), b->words());
      });
  for (const v1::Reflection* r : reflections) {
    Field(out, "reflection.participant", r->participant());
    Field(out, "reflection.words", r->words());
  }

  for (const v1::NextStep& s : review.next_steps()) {
    Field(out, "next_step.text", s.text());
    Field(out, "next_step.owner", s.owner());
    Field(out, "next_step.due_date", s.due_date());
    Field(out, "next_step.added_by", s.added_by());
  }
  return out;
}

std::string ContentSha256(const v1::Review& review) { return Sha256Hex(CanonicalContent(review)); }

}  // namespace collabcare::domain
