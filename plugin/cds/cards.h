// CDS Hooks cards from collabcare's v1 records: what a clinician opening the chart should know
// about an episode (new goals in the client's words, hypotheses waiting for an answer or not
// fitting, alliance / divergence / not-on-track alerts). Pure: no I/O, no clock, no randomness.
#ifndef COLLABCARE_PLUGIN_CDS_CARDS_H_
#define COLLABCARE_PLUGIN_CDS_CARDS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "collabcare/v1/resources.pb.h"

namespace collabcare::cds {

namespace v1 = ::collabcare::v1;

// CDS Hooks 2.0 `card.summary`: "<140-character summary". Characters are Unicode code points.
inline constexpr size_t kMaxSummaryChars = 140;
// Cards should be glanceable: `detail` is cut to this many code points.
inline constexpr size_t kMaxDetailChars = 600;

// `text` with runs of whitespace (newlines included) folded into one space and cut to at most
// `max_chars` code points, ending in "…" when cut. Never splits a UTF-8 sequence, and never
// leaves a combining mark, variation selector, emoji modifier or zero-width joiner without the
// character it belongs to. Bytes that are not valid UTF-8 become U+FFFD.
std::string TruncateText(absl::string_view text, size_t max_chars);

// As TruncateText, for markdown: line breaks and spaces are kept, and a cut never leaves a
// dangling backslash escape.
std::string TruncateMarkdown(absl::string_view markdown, size_t max_chars);

// Code points in valid UTF-8 `text` (each invalid byte counts as one).
size_t CountChars(absl::string_view text);

// What one episode holds, as the user may see it (the use cases already left out what the
// user may not see; MakeCards checks visibility once more as a second line of defence).
struct EpisodeRecords {
  v1::Episode episode;
  std::vector<v1::Goal> goals;
  std::vector<v1::Hypothesis> hypotheses;
  std::vector<v1::Review> reviews;
  v1::Progress progress;
};

enum class Indicator { kInfo, kWarning, kCritical };
// "info", "warning", "critical".
const char* IndicatorName(Indicator indicator);

// Why a card was made; also its `source.topic.code`.
enum class CardKind {
  kNewGoal,             // "goal-from-client": a goal written or changed by its owner
  kHypothesisAwaiting,  // "hypothesis-awaiting": audience members have not answered yet
  kHypothesisNotFit,    // "hypothesis-does-not-fit": someone answered DOES_NOT_FIT
  kAllianceAlert,       // "alliance-alert"
  kRaterDivergence,     // "rater-divergence"
  kNotOnTrack,          // "not-on-track"
  kDeterioration,       // "reliable-deterioration"
};
const char* CardKindCode(CardKind kind);
// Human-readable `source.topic.display`.
const char* CardKindDisplay(CardKind kind);

// A card before it gets its uuid and links (see cds_service.h for the JSON).
struct Card {
  CardKind kind;
  Indicator indicator = Indicator::kInfo;
  std::string summary;  // at most kMaxSummaryChars code points
  std::string detail;   // GitHub-flavoured markdown, at most kMaxDetailChars code points
  std::string episode;  // `episodes/{id}`: the link's appContext
  std::string record;   // the goal, hypothesis or progress subject the card is about
};

struct CardRules {
  // "Since the last visit": a goal counts when its owner wrote or changed it after the last
  // time the episode's participants signed a review together (the latest signature on the
  // latest SIGNED review). Without any signed review, a goal counts when its owner wrote or
  // changed it within this window before `now`.
  absl::Duration first_visit_window = absl::Hours(24 * 14);
  // At most this many cards per episode, most urgent first (critical, warning, info).
  size_t max_cards_per_episode = 8;
};

// The cards for `user` (a FHIR reference such as `Practitioner/9`) about one episode, most
// urgent first and, within one urgency, in the order goals / hypotheses / progress.
// Nothing for an episode the user does not take part in; a goal or hypothesis the user may not
// see gives no card. Hypotheses count only while OPEN (one set aside or held together needs no
// answer). Progress flags of the kinds named in CardKind become cards; others (improvement,
// cut-off) do not, as they need no action.
std::vector<Card> MakeCards(const std::string& user, const EpisodeRecords& records,
                            const CardRules& rules, absl::Time now);

}  // namespace collabcare::cds

#endif  // COLLABCARE_PLUGIN_CDS_CARDS_H_
