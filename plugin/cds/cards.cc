// CDS Hooks cards from v1 records: the rules of cards.h.
#include "plugin/cds/cards.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "plugin/domain/access.h"
#include "plugin/domain/timestamps.h"

namespace collabcare::cds {
namespace {

using v1::Participant;
using v1::ProgressFlag;

// One decoded code point and the bytes it took; an invalid byte decodes as U+FFFD, 1 byte.
struct Decoded {
  uint32_t code_point;
  size_t length;
  bool valid;
};

Decoded DecodeAt(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return {lead, 1, true};
  size_t length = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, cp = lead & 0x1F, min = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, cp = lead & 0x0F, min = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return {0xFFFD, 1, false};
  }
  if (i + length > text.size()) return {0xFFFD, 1, false};
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {0xFFFD, 1, false};
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629).
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0xFFFD, 1, false};
  return {cp, length, true};
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsSpace(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
         cp == 0x85 || cp == 0xA0 || cp == 0x2028 || cp == 0x2029;
}

// Code points that belong to the character before them: cutting just before one would change
// that character (a letter losing its accent, an emoji its skin tone or its joined partner).
bool AttachesToPrevious(uint32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
         (cp >= 0x1F3FB && cp <= 0x1F3FF) || (cp >= 0xE0100 && cp <= 0xE01EF) || cp == 0x200D;
}

constexpr uint32_t kEllipsis = 0x2026;

// TruncateText and TruncateMarkdown: decode (invalid bytes become U+FFFD), optionally fold
// whitespace, cut between whole characters and end a cut text with an ellipsis.
std::string Cut(absl::string_view text, size_t max_chars, bool fold_space) {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  bool space = false;
  for (size_t i = 0; i < text.size();) {
    const Decoded d = DecodeAt(text, i);
    i += d.length;
    if (fold_space && IsSpace(d.code_point)) {
      space = !cps.empty();
      continue;
    }
    if (space) cps.push_back(' ');
    space = false;
    cps.push_back(d.code_point);
  }
  if (cps.size() > max_chars) {
    if (max_chars == 0) return "";
    // Room for the ellipsis; then back off so the cut falls between whole characters.
    size_t keep = max_chars - 1;
    while (keep > 0 && AttachesToPrevious(cps[keep])) --keep;
    cps.resize(keep);
    while (!cps.empty() && cps.back() == 0x200D) cps.pop_back();
    // A markdown escape cut from the character it escapes would escape the ellipsis instead.
    if (!fold_space) {
      size_t backslashes = 0;
      for (size_t k = cps.size(); k > 0 && cps[k - 1] == '\\'; --k) ++backslashes;
      if (backslashes % 2 == 1) cps.pop_back();
    }
    while (!cps.empty() && IsSpace(cps.back())) cps.pop_back();
    cps.push_back(kEllipsis);
  }
  std::string out;
  out.reserve(cps.size());
  for (uint32_t cp : cps) AppendUtf8(cp, &out);
  return out;
}

// The participant's display name, or their role when they gave none (never the reference: a
// FHIR id is no name to show, and may be all an EHR would need to find the person).
std::string NameOf(const v1::Episode& episode, const std::string& person) {
  for (const Participant& p : episode.participants()) {
    if (p.person() != person) continue;
    if (!p.display().empty()) return TruncateText(p.display(), 40);
    switch (p.role()) {
      case Participant::CLIENT:
        return "the client";
      case Participant::FAMILY_MEMBER:
        return "a family member";
      case Participant::THERAPIST:
        return "a therapist";
      default:
        break;
    }
  }
  return "a former participant";
}

std::string Names(const v1::Episode& episode, const std::vector<std::string>& people) {
  std::vector<std::string> names;
  for (const std::string& person : people) names.push_back(NameOf(episode, person));
  if (names.size() <= 2) return absl::StrJoin(names, " and ");
  return absl::StrCat(names[0], ", ", names[1], " and ", names.size() - 2, " more");
}

// Markdown-escapes text written by people (GitHub-flavoured markdown, as cards render), so a
// client's words are shown as written and cannot become links, images, HTML, entities, code
// or emphasis. Line-start syntax (#, -, 1.) needs no escape: people's text is folded onto one
// line and always follows a label.
std::string EscapeMarkdown(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '~':
      case '&':
      case '|':
        out.push_back('\\');
        break;
      default:
        break;
    }
    out.push_back(c);
  }
  return out;
}

// A quotation in the summary, fitted to what is left of kMaxSummaryChars after `prefix`.
std::string SummaryWithQuote(const std::string& prefix, absl::string_view words) {
  const size_t used = CountChars(prefix) + 2;  // the quotation marks
  const size_t room = used < kMaxSummaryChars ? kMaxSummaryChars - used : 0;
  if (room < 8) return TruncateText(prefix, kMaxSummaryChars);
  return absl::StrCat(prefix, "\u201c", TruncateText(words, room), "\u201d");
}

// Scores are shown with at most one decimal, as they were entered.
std::string Score(double value) {
  std::string s = absl::StrFormat("%.1f", value);
  if (s.size() > 2 && s.substr(s.size() - 2) == ".0") s.resize(s.size() - 2);
  return s;
}

const char* StanceName(v1::HypothesisResponse::Stance stance) {
  switch (stance) {
    case v1::HypothesisResponse::FITS:
      return "fits";
    case v1::HypothesisResponse::PARTLY_FITS:
      return "partly fits";
    case v1::HypothesisResponse::DOES_NOT_FIT:
      return "does not fit";
    case v1::HypothesisResponse::NOT_NOW:
      return "not now";
    case v1::HypothesisResponse::WANT_TO_TALK:
      return "let's talk";
    default:
      return "answered";
  }
}

const char* TentativenessName(v1::Hypothesis::Tentativeness t) {
  switch (t) {
    case v1::Hypothesis::WONDERING:
      return "wondering";
    case v1::Hypothesis::CONSIDERING:
      return "considering";
    case v1::Hypothesis::FAIRLY_CONFIDENT:
      return "fairly confident";
    default:
      return "unspecified";
  }
}

const char* GoalStatusName(v1::Goal::Status status) {
  switch (status) {
    case v1::Goal::PROPOSED:
      return "proposed";
    case v1::Goal::ACTIVE:
      return "active";
    case v1::Goal::PAUSED:
      return "paused";
    case v1::Goal::ACHIEVED:
      return "achieved";
    case v1::Goal::LET_GO:
      return "let go";
    default:
      return "unspecified";
  }
}

// The last visit: the latest signature on the latest SIGNED review, if any.
std::optional<absl::Time> LastVisit(const std::vector<v1::Review>& reviews) {
  std::optional<absl::Time> last;
  for (const v1::Review& review : reviews) {
    if (review.status() != v1::Review::SIGNED) continue;
    for (const v1::Signature& signature : review.signatures()) {
      const absl::Time t = domain::FromTimestamp(signature.sign_time());
      if (!last.has_value() || t > *last) last = t;
    }
  }
  return last;
}

void AddGoalCards(const std::string& user, const EpisodeRecords& records, const CardRules& rules,
                  absl::Time now, std::vector<Card>* cards) {
  const v1::Episode& episode = records.episode;
  const std::optional<absl::Time> last_visit = LastVisit(records.reviews);
  const absl::Time since = last_visit.value_or(now - rules.first_visit_window);
  for (const v1::Goal& goal : records.goals) {
    if (!domain::CanSeeGoal(episode, goal, user)) continue;
    // Only the owner's own writing counts: a goal a therapist wrote down, or restated, is not
    // news in the client's words.
    if (goal.meta().updated_by() != goal.owner()) continue;
    if (!domain::IsClientSide(episode, goal.owner())) continue;
    if (domain::FromTimestamp(goal.meta().update_time()) <= since) continue;

    const std::string who = NameOf(episode, goal.owner());
    const v1::Understanding& understanding = goal.understanding();
    const bool corrected = understanding.verdict() == v1::Understanding::CORRECTED &&
                           domain::FromTimestamp(understanding.verdict_time()) > since;
    const bool created = domain::FromTimestamp(goal.meta().create_time()) > since;
    Card card;
    card.kind = CardKind::kNewGoal;
    card.indicator = Indicator::kInfo;
    card.episode = episode.name();
    card.record = goal.name();
    if (corrected) {
      card.summary = SummaryWithQuote(absl::StrCat(who, " corrected a restatement: "),
                                      understanding.correction());
    } else if (created) {
      card.summary = SummaryWithQuote(absl::StrCat("New goal from ", who, ": "), goal.words());
    } else if (goal.status() == v1::Goal::ACHIEVED) {
      card.summary = SummaryWithQuote(absl::StrCat(who, " marked a goal achieved: "), goal.words());
    } else if (goal.status() == v1::Goal::LET_GO) {
      card.summary = SummaryWithQuote(absl::StrCat(who, " let a goal go: "), goal.words());
    } else {
      card.summary = SummaryWithQuote(absl::StrCat(who, " changed a goal: "), goal.words());
    }
    std::string detail = absl::StrCat("**In ", EscapeMarkdown(who), "'s words:** ",
                                      EscapeMarkdown(TruncateText(goal.words(), 300)));
    if (!goal.everyday_signs().empty()) {
      absl::StrAppend(&detail, "\n\n**What will be different:** ",
                      EscapeMarkdown(TruncateText(goal.everyday_signs(), 150)));
    }
    if (corrected) {
      absl::StrAppend(&detail, "\n\n**Restatement corrected:** ",
                      EscapeMarkdown(TruncateText(understanding.correction(), 150)));
    }
    absl::StrAppend(&detail, "\n\nStatus: ", GoalStatusName(goal.status()),
                    last_visit.has_value() ? " · changed since the last signed review"
                                           : " · changed in the last days, no review signed yet");
    card.detail = TruncateMarkdown(detail, kMaxDetailChars);
    cards->push_back(std::move(card));
  }
}

void AddHypothesisCards(const std::string& user, const EpisodeRecords& records,
                        std::vector<Card>* cards) {
  const v1::Episode& episode = records.episode;
  for (const v1::Hypothesis& hypothesis : records.hypotheses) {
    if (!domain::CanSeeHypothesis(episode, hypothesis, user)) continue;
    if (hypothesis.status() != v1::Hypothesis::OPEN) continue;
    const std::vector<std::string> audience = domain::EffectiveAudience(episode, hypothesis);
    std::vector<std::string> not_fit, waiting;
    std::string answers;
    for (const std::string& person : audience) {
      const v1::HypothesisResponse* response = nullptr;
      for (const v1::HypothesisResponse& r : hypothesis.responses()) {
        if (r.person() == person) response = &r;
      }
      if (response == nullptr || response->stance() == v1::HypothesisResponse::STANCE_UNSPECIFIED) {
        waiting.push_back(person);
        continue;
      }
      if (response->stance() == v1::HypothesisResponse::DOES_NOT_FIT) not_fit.push_back(person);
      absl::StrAppend(&answers, "\n- **", EscapeMarkdown(NameOf(episode, person)), ":** ",
                      StanceName(response->stance()));
      if (!response->words().empty()) {
        absl::StrAppend(&answers, " \u2014 ", EscapeMarkdown(TruncateText(response->words(), 120)));
      }
    }
    if (not_fit.empty() && waiting.empty()) continue;

    Card card;
    card.episode = episode.name();
    card.record = hypothesis.name();
    if (!not_fit.empty()) {
      card.kind = CardKind::kHypothesisNotFit;
      card.indicator = Indicator::kWarning;
      card.summary = SummaryWithQuote(
          absl::StrCat("Does not fit for ", Names(episode, not_fit), ": "), hypothesis.text());
    } else {
      card.kind = CardKind::kHypothesisAwaiting;
      card.indicator = Indicator::kInfo;
      card.summary =
          SummaryWithQuote(absl::StrCat("Awaiting an answer from ", Names(episode, waiting), ": "),
                           hypothesis.text());
    }
    std::string detail =
        absl::StrCat("**Hypothesis** (", TentativenessName(hypothesis.tentativeness()),
                     "): ", EscapeMarkdown(TruncateText(hypothesis.text(), 200)));
    if (!answers.empty()) absl::StrAppend(&detail, "\n\n**Answers so far:**", answers);
    if (!waiting.empty()) {
      absl::StrAppend(&detail, "\n\nNot answered yet: ", EscapeMarkdown(Names(episode, waiting)));
    }
    card.detail = TruncateMarkdown(detail, kMaxDetailChars);
    cards->push_back(std::move(card));
  }
}

// What a progress flag's subject is called: a goal's words (if visible) or an instrument id.
std::optional<std::string> SubjectLabel(const std::string& user, const EpisodeRecords& records,
                                        const std::string& subject) {
  if (subject.find('/') == std::string::npos) return subject;  // an instrument id
  for (const v1::Goal& goal : records.goals) {
    if (goal.name() != subject) continue;
    if (!domain::CanSeeGoal(records.episode, goal, user)) return std::nullopt;
    return absl::StrCat("goal \u201c", TruncateText(goal.words(), 40), "\u201d");
  }
  return std::nullopt;  // a goal the user may not see (or no longer exists)
}

void AddProgressCards(const std::string& user, const EpisodeRecords& records,
                      std::vector<Card>* cards) {
  const v1::Episode& episode = records.episode;
  std::set<std::tuple<int, std::string, std::vector<std::string>>> seen;
  for (const ProgressFlag& flag : records.progress.flags()) {
    CardKind kind;
    Indicator indicator;
    switch (flag.kind()) {
      case ProgressFlag::ALLIANCE_ALERT:
        kind = CardKind::kAllianceAlert, indicator = Indicator::kWarning;
        break;
      case ProgressFlag::RATER_DIVERGENCE:
        kind = CardKind::kRaterDivergence, indicator = Indicator::kWarning;
        break;
      case ProgressFlag::NOT_ON_TRACK:
        kind = CardKind::kNotOnTrack, indicator = Indicator::kWarning;
        break;
      case ProgressFlag::RELIABLE_DETERIORATION:
        kind = CardKind::kDeterioration, indicator = Indicator::kCritical;
        break;
      default:
        continue;  // improvement and cut-off flags ask for no action
    }
    const std::optional<std::string> subject = SubjectLabel(user, records, flag.subject());
    if (!subject.has_value()) continue;
    std::vector<std::string> raters(flag.raters().begin(), flag.raters().end());
    // An alliance total below the cut-off and a drop in the same review are one conversation.
    if (!seen.insert({static_cast<int>(kind), flag.subject(), raters}).second) continue;
    const std::string who = Names(episode, raters);

    Card card;
    card.kind = kind;
    card.indicator = indicator;
    card.episode = episode.name();
    card.record = flag.subject();
    std::string what;
    switch (kind) {
      case CardKind::kAllianceAlert:
        what =
            flag.value() < flag.threshold()
                ? absl::StrCat("total ", Score(flag.value()), ", below ", Score(flag.threshold()))
                : absl::StrCat("dropped ", Score(flag.value()), " points since the last review");
        card.summary = absl::StrCat("Alliance alert (", *subject, ", ", who, "): ", what);
        break;
      case CardKind::kRaterDivergence:
        what = absl::StrCat("views differ by ", Score(flag.value()), " points");
        card.summary = absl::StrCat(who, ": ", what, " on ", *subject);
        break;
      case CardKind::kNotOnTrack:
        what = absl::StrCat("still in the clinical range, change ", Score(flag.value()),
                            " (reliable: ", Score(flag.threshold()), ")");
        card.summary = absl::StrCat("Not on track (", *subject, ", ", who, "): ", what);
        break;
      default:
        what = absl::StrCat("down ", Score(-flag.value()),
                            " points (reliable: ", Score(flag.threshold()), ")");
        card.summary = absl::StrCat("Reliable deterioration (", *subject, ", ", who, "): ", what);
        break;
    }
    card.summary = TruncateText(card.summary, kMaxSummaryChars);
    card.detail = TruncateMarkdown(
        absl::StrCat("**", CardKindDisplay(kind), "** on ", EscapeMarkdown(*subject), " for ",
                     EscapeMarkdown(who), ": ", EscapeMarkdown(what),
                     ".\n\nEach person's scores are their own and are never averaged; talk it "
                     "over together.\n\nThreshold source: ",
                     EscapeMarkdown(TruncateText(flag.source(), 200))),
        kMaxDetailChars);
    cards->push_back(std::move(card));
  }
}

int Urgency(Indicator indicator) {
  switch (indicator) {
    case Indicator::kCritical:
      return 0;
    case Indicator::kWarning:
      return 1;
    case Indicator::kInfo:
      return 2;
  }
  return 3;
}

}  // namespace

size_t CountChars(absl::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); i += DecodeAt(text, i).length) ++count;
  return count;
}

std::string TruncateText(absl::string_view text, size_t max_chars) {
  return Cut(text, max_chars, /*fold_space=*/true);
}

std::string TruncateMarkdown(absl::string_view markdown, size_t max_chars) {
  return Cut(markdown, max_chars, /*fold_space=*/false);
}

const char* IndicatorName(Indicator indicator) {
  switch (indicator) {
    case Indicator::kInfo:
      return "info";
    case Indicator::kWarning:
      return "warning";
    case Indicator::kCritical:
      return "critical";
  }
  return "info";
}

const char* CardKindCode(CardKind kind) {
  switch (kind) {
    case CardKind::kNewGoal:
      return "goal-from-client";
    case CardKind::kHypothesisAwaiting:
      return "hypothesis-awaiting";
    case CardKind::kHypothesisNotFit:
      return "hypothesis-does-not-fit";
    case CardKind::kAllianceAlert:
      return "alliance-alert";
    case CardKind::kRaterDivergence:
      return "rater-divergence";
    case CardKind::kNotOnTrack:
      return "not-on-track";
    case CardKind::kDeterioration:
      return "reliable-deterioration";
  }
  return "unknown";
}

const char* CardKindDisplay(CardKind kind) {
  switch (kind) {
    case CardKind::kNewGoal:
      return "Goal in the client's words";
    case CardKind::kHypothesisAwaiting:
      return "Hypothesis awaiting an answer";
    case CardKind::kHypothesisNotFit:
      return "Hypothesis answered: does not fit";
    case CardKind::kAllianceAlert:
      return "Alliance alert";
    case CardKind::kRaterDivergence:
      return "Raters' views differ";
    case CardKind::kNotOnTrack:
      return "Not on track";
    case CardKind::kDeterioration:
      return "Reliable deterioration";
  }
  return "Unknown";
}

std::vector<Card> MakeCards(const std::string& user, const EpisodeRecords& records,
                            const CardRules& rules, absl::Time now) {
  std::vector<Card> cards;
  if (!domain::RoleOf(records.episode, user).has_value()) return cards;
  AddGoalCards(user, records, rules, now, &cards);
  AddHypothesisCards(user, records, &cards);
  AddProgressCards(user, records, &cards);
  std::stable_sort(cards.begin(), cards.end(), [](const Card& a, const Card& b) {
    return Urgency(a.indicator) < Urgency(b.indicator);
  });
  if (cards.size() > rules.max_cards_per_episode) cards.resize(rules.max_cards_per_episode);
  return cards;
}

}  // namespace collabcare::cds
