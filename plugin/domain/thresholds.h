// The one table of instrument definitions and thresholds that scoring and progress flags use.
// Nothing about an instrument is hard-wired elsewhere; every value names its source.
#ifndef COLLABCARE_PLUGIN_DOMAIN_THRESHOLDS_H_
#define COLLABCARE_PLUGIN_DOMAIN_THRESHOLDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace collabcare::domain {

// How item scores become a total.
enum class Scoring { kSum, kMean };

// A standard instrument and its thresholds.
struct InstrumentDef {
  std::string id;     // "ORS", "SRS", "GBO", …
  int min_items = 1;  // how many items an administration has
  int max_items = 1;
  double item_min = 0;
  double item_max = 10;
  Scoring scoring = Scoring::kSum;
  // Totals below this are in the clinical range (e.g. ORS adult 25).
  std::optional<double> clinical_cutoff;
  // A change of at least this between first and latest total is reliable (e.g. ORS 5).
  std::optional<double> reliable_change;
  // Alliance measures: a total below this raises an alliance alert (e.g. SRS 36).
  std::optional<double> alliance_cutoff;
  // Alliance measures: a drop of at least this from the previous review raises an alert.
  std::optional<double> alliance_drop;
  // Where the values come from (author, year, document), shown with every flag.
  std::string source;
  // Completed by clients and family members only (ORS, SRS and GBO are the client's view;
  // a therapist's score there would be read against cut-offs made for clients).
  bool client_side_only = true;
};

struct ThresholdTable {
  std::vector<InstrumentDef> instruments;
  // Reliable change on a 0–10 goal rating (GBO, Edbrooke-Childs et al. 2015: 2.45).
  double goal_reliable_change = 2.45;
  std::string goal_reliable_change_source;
  // Two raters' latest scores on one goal differing by at least this raise RATER_DIVERGENCE.
  double goal_divergence = 3.0;
  std::string goal_divergence_source;
  // NOT_ON_TRACK after this many reviews in the clinical range without reliable change.
  int not_on_track_reviews = 3;
  std::string not_on_track_source;

  // The instrument with this id, or nullptr.
  const InstrumentDef* Find(const std::string& id) const;
};

// The built-in table (ORS, SRS, GBO, CORS, ORS adolescent …), each value with its source.
const ThresholdTable& DefaultThresholds();

// The total of `items` by the instrument's rule; INVALID_ARGUMENT naming `field` (e.g.
// "instrument_scores[0].items[2]") if the item count or a value is out of range or has more
// than one decimal place.
absl::StatusOr<double> ScoreInstrument(const InstrumentDef& def, const std::vector<double>& items,
                                       const std::string& field);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_THRESHOLDS_H_
