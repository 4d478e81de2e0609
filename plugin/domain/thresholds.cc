// The built-in instrument table and the scoring rule shared by SubmitRatings and GetProgress.
#include "plugin/domain/thresholds.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace collabcare::domain {

// The default threshold table. Every number the scoring engine and the progress flags use is
// here and nowhere else; an operator can replace the whole table (e.g. a clinic that uses 6
// rather than 5 as the ORS reliable change) without touching the service.
//
// Per instrument:
//   min_items / max_items  how many items one administration has;
//   item_min / item_max    the range of each item (items carry at most one decimal place);
//   scoring                kSum (ORS, SRS: 0-40) or kMean (GBO: mean of the goals, 0-10);
//   clinical_cutoff        a total below it is in the clinical range (BELOW_CLINICAL_CUTOFF,
//                          CROSSED_CLINICAL_CUTOFF, NOT_ON_TRACK);
//   reliable_change        a change between a rater's first and latest total of at least this
//                          is reliable (RELIABLE_IMPROVEMENT / RELIABLE_DETERIORATION);
//   alliance_cutoff        alliance measures: a total below it raises ALLIANCE_ALERT;
//   alliance_drop          alliance measures: a drop of at least this from the rater's
//                          previous total raises ALLIANCE_ALERT;
//   source                 where the values come from, as cited in reference/instruments.md,
//                          shown with every flag. [V] = read in the cited source; [M] = from the
//                          literature, not confirmed, so marked "unverified; configurable".
// For the whole table:
//   goal_reliable_change   reliable change on one 0-10 goal rating;
//   goal_divergence        two raters' latest scores on one goal this far apart raise
//                          RATER_DIVERGENCE;
//   not_on_track_reviews   this many totals in the clinical range without reliable change
//                          raise NOT_ON_TRACK.
//
// Not built in: the OQ-45.2 and CORE-OM/CORE-10 score in the other direction (higher = more
// distress) and reverse-score some items, which InstrumentDef does not model and the reference
// does not list item by item; GAS uses a T-score, not a total of items.
namespace {

// Miller et al. 2003 / Miller & Duncan 2004 is the most cited ORS reliable change; some PCOMS
// material uses 6 and OpenFIT uses an effect size instead (OpenFIT KA-01031 [V]).
constexpr char kOrsReliableChange[] =
    "reliable change 5 (Miller et al. 2003; Miller & Duncan 2004 manual [M]: unverified; "
    "configurable)";

ThresholdTable MakeDefaultThresholds() {
  ThresholdTable table;

  InstrumentDef ors;
  ors.id = "ORS";
  ors.min_items = 4;
  ors.max_items = 4;
  ors.item_min = 0;
  ors.item_max = 10;
  ors.scoring = Scoring::kSum;
  ors.clinical_cutoff = 25;
  ors.reliable_change = 5;
  ors.source = absl::StrCat(
      "ORS: 4 items 0-10, total 0-40 (CORC ORS page [V]); adult clinical cut-off 25 (OpenFIT "
      "KA-01031 [V]); ",
      kOrsReliableChange);
  table.instruments.push_back(ors);

  InstrumentDef adolescent = ors;
  adolescent.id = "ORS-ADOLESCENT";
  adolescent.clinical_cutoff = 28;
  adolescent.source = absl::StrCat(
      "ORS for ages 13 and over (ICCE course page [V]); adolescent clinical cut-off 28 (Duncan et "
      "al. 2006, J Brief Therapy 5(2) [M]: unverified; configurable); ",
      kOrsReliableChange);
  table.instruments.push_back(adolescent);

  InstrumentDef cors = ors;
  cors.id = "CORS";
  cors.clinical_cutoff = 32;
  cors.source = absl::StrCat(
      "CORS, children 6-12 (ICCE course page [V]; CORC [V]); clinical cut-off 32 (OpenFIT "
      "KA-01031 [V]); as for the ORS, ",
      kOrsReliableChange);
  table.instruments.push_back(cors);

  InstrumentDef srs;
  srs.id = "SRS";
  srs.min_items = 4;
  srs.max_items = 4;
  srs.item_min = 0;
  srs.item_max = 10;
  srs.scoring = Scoring::kSum;
  srs.alliance_cutoff = 36;
  srs.alliance_drop = 1;
  srs.source =
      "SRS: 4 items 0-10, total 0-40 (SRS scoring guide (hiboop) [V]); below 36 signals a "
      "possible alliance problem (OpenFIT KA-01028 [V]); alert on a drop of 1 point or more from "
      "the previous session (OpenFIT alerts article [V])";
  table.instruments.push_back(srs);

  InstrumentDef gbo;
  gbo.id = "GBO";
  gbo.min_items = 1;
  gbo.max_items = 3;
  gbo.item_min = 0;
  gbo.item_max = 10;
  gbo.scoring = Scoring::kMean;
  gbo.reliable_change = 2.45;
  gbo.source =
      "GBO: up to 3 goals each rated 0-10 (CORC GBO page [V]; Law & Jacob 2015 [V]); reliable "
      "change 2.45 on the mean GBO score (Edbrooke-Childs, Jacob, Law, Deighton & Wolpert 2015, "
      "Child & Adolescent Mental Health [M]: unverified; configurable)";
  table.instruments.push_back(gbo);

  table.goal_reliable_change = 2.45;
  table.goal_reliable_change_source =
      "goal rating 0-10 (CORC GBO page [V]); reliable change 2.45 (Edbrooke-Childs, Jacob, Law, "
      "Deighton & Wolpert 2015, Child & Adolescent Mental Health [M]: unverified; configurable; "
      "published for the mean of goals, applied here to each goal)";
  table.goal_divergence = 3.0;
  table.goal_divergence_source =
      "collabcare default, configurable: 3 points between two raters on one goal; no published "
      "divergence threshold for goal ratings was found";
  table.not_on_track_reviews = 3;
  table.not_on_track_source =
      "collabcare default, configurable: 3 reviews in the clinical range without reliable "
      "change; published not-on-track alerts compare with expected-treatment-response curves "
      "(OpenFIT alerts article [V]), which collabcare does not model";
  return table;
}

// The item as a whole number of tenths, or an error naming `field`.
absl::StatusOr<int64_t> ItemTenths(const InstrumentDef& def, double item,
                                   const std::string& field) {
  if (!std::isfinite(item)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be a finite number"));
  }
  if (item < def.item_min || item > def.item_max) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be between ", def.item_min, " and ", def.item_max));
  }
  // At most one decimal place: ORS/SRS marks are measured to the nearest mm of a 10 cm line.
  const double scaled = item * 10;
  const double rounded = std::round(scaled);
  if (std::fabs(rounded - scaled) > 1e-9) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must have at most one decimal place"));
  }
  return static_cast<int64_t>(rounded);
}

}  // namespace

const InstrumentDef* ThresholdTable::Find(const std::string& id) const {
  for (const InstrumentDef& def : instruments) {
    if (def.id == id) return &def;
  }
  return nullptr;
}

const ThresholdTable& DefaultThresholds() {
  static const ThresholdTable* const kTable = new ThresholdTable(MakeDefaultThresholds());
  return *kTable;
}

// `field` is the path of the item list, e.g. "instrument_scores[0].items"; an item's error
// appends its index. Totals are computed in integer tenths (as instruments.md advises) so a sum
// such as 18.0 + 9.3 is exactly the double nearest 27.3; a mean is rounded to 2 decimals.
absl::StatusOr<double> ScoreInstrument(const InstrumentDef& def, const std::vector<double>& items,
                                       const std::string& field) {
  const int count = static_cast<int>(items.size());
  if (count < def.min_items || count > def.max_items) {
    if (def.min_items == def.max_items) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": ", def.id, " takes ", def.min_items, " items"));
    }
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", def.id, " takes ", def.min_items,
                                                   " to ", def.max_items, " items"));
  }
  int64_t sum_tenths = 0;
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<int64_t> tenths = ItemTenths(def, items[i], absl::StrCat(field, "[", i, "]"));
    if (!tenths.ok()) return tenths.status();
    sum_tenths += *tenths;
  }
  switch (def.scoring) {
    case Scoring::kSum:
      return static_cast<double>(sum_tenths) / 10;
    case Scoring::kMean:
      if (count == 0) return 0.0;  // only if an operator's table allows no items
      // sum_tenths / count tenths = sum_tenths * 10 / count hundredths.
      return std::round(static_cast<double>(sum_tenths) * 10 / count) / 100;
  }
  return absl::InternalError(absl::StrCat(field, ": unknown scoring rule for ", def.id));
}

}  // namespace collabcare::domain
