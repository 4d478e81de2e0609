// GetProgress: each rater's series per goal and per instrument, and the flags worth talking about.
#include "plugin/domain/progress.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "collabcare/v1/resources.pb.h"
#include "plugin/domain/thresholds.h"

namespace collabcare::domain {
namespace {

using ::collabcare::v1::Episode;
using ::collabcare::v1::Goal;
using ::collabcare::v1::GoalSeries;
using ::collabcare::v1::InstrumentSeries;
using ::collabcare::v1::Progress;
using ::collabcare::v1::ProgressFlag;
using ::collabcare::v1::Review;
using ::collabcare::v1::ScorePoint;

// Scores carry one decimal and totals at most two, so differences are rounded to 2 decimals
// before they are compared with a threshold: 27.3 - 18.0 is then exactly the double of 9.3.
double Round2(double x) { return std::round(x * 100) / 100; }

// Appends `review`'s point to a series; a second entry by the same rater in the same review
// replaces the first (the rater's latest submission counts).
void AddPoint(google::protobuf::RepeatedPtrField<ScorePoint>* points, const Review& review,
              double value) {
  ScorePoint* point = nullptr;
  if (!points->empty() && points->rbegin()->review() == review.name()) {
    point = &*points->rbegin();
  } else {
    point = points->Add();
  }
  point->set_review(review.name());
  *point->mutable_time() = review.meta().create_time();
  point->set_value(value);
  point->set_signed_(review.status() == Review::SIGNED);
}

ProgressFlag MakeFlag(ProgressFlag::Kind kind, const std::string& subject,
                      std::vector<std::string> raters, const std::string& review, double value,
                      double threshold, const std::string& source) {
  std::sort(raters.begin(), raters.end());
  ProgressFlag flag;
  flag.set_kind(kind);
  flag.set_subject(subject);
  for (std::string& rater : raters) flag.add_raters(std::move(rater));
  flag.set_review(review);
  flag.set_value(value);
  flag.set_threshold(threshold);
  flag.set_source(source);
  return flag;
}

// RELIABLE_IMPROVEMENT / RELIABLE_DETERIORATION between a rater's first and latest score.
void AddReliableChangeFlags(const std::string& subject, const std::string& rater,
                            const google::protobuf::RepeatedPtrField<ScorePoint>& points,
                            double reliable_change, const std::string& source,
                            std::vector<ProgressFlag>* flags) {
  if (points.size() < 2) return;
  const ScorePoint& latest = *points.rbegin();
  const double change = Round2(latest.value() - points.begin()->value());
  if (change >= reliable_change) {
    flags->push_back(MakeFlag(ProgressFlag::RELIABLE_IMPROVEMENT, subject, {rater}, latest.review(),
                              change, reliable_change, source));
  } else if (change <= -reliable_change) {
    flags->push_back(MakeFlag(ProgressFlag::RELIABLE_DETERIORATION, subject, {rater},
                              latest.review(), change, reliable_change, source));
  }
}

// The flags of one rater's totals on one instrument (see the table's comment in thresholds.cc).
void AddInstrumentFlags(const InstrumentDef& def, const ThresholdTable& thresholds,
                        const InstrumentSeries& series, std::vector<ProgressFlag>* flags) {
  const auto& points = series.points();
  if (points.empty()) return;
  const std::string& subject = series.instrument();
  const std::string& rater = series.rater();
  const ScorePoint& first = *points.begin();
  const ScorePoint& latest = *points.rbegin();
  const double change = Round2(latest.value() - first.value());

  if (def.reliable_change.has_value()) {
    AddReliableChangeFlags(subject, rater, points, *def.reliable_change, def.source, flags);
  }
  if (def.clinical_cutoff.has_value()) {
    const double cutoff = *def.clinical_cutoff;
    if (latest.value() < cutoff) {
      flags->push_back(MakeFlag(ProgressFlag::BELOW_CLINICAL_CUTOFF, subject, {rater},
                                latest.review(), latest.value(), cutoff, def.source));
    }
    // Moving from the clinical to the non-clinical range; reported alongside (not instead of)
    // a reliable improvement, so both halves of clinically significant change are visible.
    if (points.size() >= 2 && first.value() < cutoff && latest.value() >= cutoff) {
      flags->push_back(MakeFlag(ProgressFlag::CROSSED_CLINICAL_CUTOFF, subject, {rater},
                                latest.review(), latest.value(), cutoff, def.source));
    }
    if (def.reliable_change.has_value() && points.size() >= thresholds.not_on_track_reviews &&
        latest.value() < cutoff && change < *def.reliable_change) {
      flags->push_back(MakeFlag(ProgressFlag::NOT_ON_TRACK, subject, {rater}, latest.review(),
                                change, *def.reliable_change,
                                absl::StrCat(def.source, "; ", thresholds.not_on_track_source)));
    }
  }
  // Alliance alerts as on the OpenFIT dashboard: one flag per condition that holds.
  if (def.alliance_cutoff.has_value() && latest.value() < *def.alliance_cutoff) {
    flags->push_back(MakeFlag(ProgressFlag::ALLIANCE_ALERT, subject, {rater}, latest.review(),
                              latest.value(), *def.alliance_cutoff, def.source));
  }
  if (def.alliance_drop.has_value() && points.size() >= 2) {
    const double drop = Round2(points[points.size() - 2].value() - latest.value());
    if (drop >= *def.alliance_drop) {
      flags->push_back(MakeFlag(ProgressFlag::ALLIANCE_ALERT, subject, {rater}, latest.review(),
                                drop, *def.alliance_drop, def.source));
    }
  }
}

// Flags are ordered by subject, kind and raters; the rest of the fields only break ties (two
// alliance alerts on one review) so the output never depends on map or input order.
bool FlagLess(const ProgressFlag& a, const ProgressFlag& b) {
  if (a.subject() != b.subject()) return a.subject() < b.subject();
  if (a.kind() != b.kind()) return a.kind() < b.kind();
  if (!std::equal(a.raters().begin(), a.raters().end(), b.raters().begin(), b.raters().end())) {
    return std::lexicographical_compare(a.raters().begin(), a.raters().end(), b.raters().begin(),
                                        b.raters().end());
  }
  if (a.review() != b.review()) return a.review() < b.review();
  if (a.threshold() != b.threshold()) return a.threshold() < b.threshold();
  return a.value() < b.value();
}

}  // namespace

Progress ComputeProgress(const Episode& episode, const std::vector<Review>& reviews,
                         const std::vector<Goal>& visible_goals, const ThresholdTable& thresholds) {
  std::set<std::string> visible;
  for (const Goal& goal : visible_goals) visible.insert(goal.name());

  // Keyed by (goal, rater) and (instrument, rater): std::map gives the output order.
  std::map<std::pair<std::string, std::string>, GoalSeries> goal_series;
  std::map<std::pair<std::string, std::string>, InstrumentSeries> instrument_series;
  // goal -> one entry per review: rater -> score, for divergence between raters.
  std::map<std::string, std::vector<std::map<std::string, double>>> goal_scores;

  for (std::size_t r = 0; r < reviews.size(); ++r) {
    const Review& review = reviews[r];
    for (const auto& rating : review.ratings()) {
      if (visible.count(rating.goal()) == 0) continue;  // not the caller's to see
      if (!std::isfinite(rating.score())) continue;
      GoalSeries& series = goal_series[{rating.goal(), rating.rater()}];
      series.set_goal(rating.goal());
      series.set_rater(rating.rater());
      AddPoint(series.mutable_points(), review, rating.score());
      auto& per_review = goal_scores[rating.goal()];
      per_review.resize(reviews.size());
      per_review[r][rating.rater()] = rating.score();
    }
    for (int i = 0; i < review.instrument_scores_size(); ++i) {
      const auto& score = review.instrument_scores(i);
      const InstrumentDef* def = thresholds.Find(score.instrument());
      if (def == nullptr) continue;  // not in this server's table
      // The stored total is recomputed so the current table's scoring rule applies.
      absl::StatusOr<double> total =
          ScoreInstrument(*def, std::vector<double>(score.items().begin(), score.items().end()),
                          absl::StrCat("instrument_scores[", i, "].items"));
      if (!total.ok()) continue;
      InstrumentSeries& series = instrument_series[{score.instrument(), score.rater()}];
      series.set_instrument(score.instrument());
      series.set_rater(score.rater());
      AddPoint(series.mutable_points(), review, *total);
    }
  }

  std::vector<ProgressFlag> flags;
  Progress progress;
  progress.set_episode(episode.name());
  for (auto& [key, series] : goal_series) {
    AddReliableChangeFlags(series.goal(), series.rater(), series.points(),
                           thresholds.goal_reliable_change, thresholds.goal_reliable_change_source,
                           &flags);
    *progress.add_goals() = std::move(series);
  }
  for (auto& [key, series] : instrument_series) {
    AddInstrumentFlags(*thresholds.Find(series.instrument()), thresholds, series, &flags);
    *progress.add_instruments() = std::move(series);
  }

  // RATER_DIVERGENCE: each pair of raters, compared in the latest review where both rated the
  // goal. Their views stay side by side; nothing is averaged.
  for (const auto& [goal, per_review] : goal_scores) {
    std::set<std::string> raters;
    for (const auto& scores : per_review) {
      for (const auto& [rater, score] : scores) raters.insert(rater);
    }
    for (auto a = raters.begin(); a != raters.end(); ++a) {
      for (auto b = std::next(a); b != raters.end(); ++b) {
        for (std::size_t r = per_review.size(); r-- > 0;) {
          const auto score_a = per_review[r].find(*a);
          const auto score_b = per_review[r].find(*b);
          if (score_a == per_review[r].end() || score_b == per_review[r].end()) continue;
          const double diff = Round2(std::fabs(score_a->second - score_b->second));
          if (diff >= thresholds.goal_divergence) {
            flags.push_back(MakeFlag(ProgressFlag::RATER_DIVERGENCE, goal, {*a, *b},
                                     reviews[r].name(), diff, thresholds.goal_divergence,
                                     thresholds.goal_divergence_source));
          }
          break;
        }
      }
    }
  }

  std::sort(flags.begin(), flags.end(), FlagLess);
  for (ProgressFlag& flag : flags) *progress.add_flags() = std::move(flag);

  // The lines a chart draws are the ones the flags were raised against.
  std::set<std::string> described;
  for (const InstrumentSeries& series : progress.instruments()) {
    if (!described.insert(series.instrument()).second) continue;
    const InstrumentDef* def = thresholds.Find(series.instrument());
    if (def == nullptr) continue;
    collabcare::v1::InstrumentThresholds* t = progress.add_thresholds();
    t->set_instrument(def->id);
    const bool sum = def->scoring == Scoring::kSum;
    t->set_total_min(sum ? def->item_min * def->max_items : def->item_min);
    t->set_total_max(sum ? def->item_max * def->max_items : def->item_max);
    if (def->clinical_cutoff) t->set_clinical_cutoff(*def->clinical_cutoff);
    if (def->reliable_change) t->set_reliable_change(*def->reliable_change);
    if (def->alliance_cutoff) t->set_alliance_cutoff(*def->alliance_cutoff);
    if (def->alliance_drop) t->set_alliance_drop(*def->alliance_drop);
    t->set_source(def->source);
  }
  progress.set_goal_reliable_change(thresholds.goal_reliable_change);
  progress.set_goal_divergence(thresholds.goal_divergence);
  return progress;
}

}  // namespace collabcare::domain
