// GetProgress: per-goal and per-instrument series for each rater, and flags. Pure computation.
#ifndef COLLABCARE_PLUGIN_DOMAIN_PROGRESS_H_
#define COLLABCARE_PLUGIN_DOMAIN_PROGRESS_H_

#include <vector>

#include "collabcare/v1/resources.pb.h"
#include "plugin/domain/thresholds.h"

namespace collabcare::domain {

// Computes progress from an episode's reviews (in the order they were started), restricted to
// `visible_goals` (the goals the caller may see; ratings of other goals are left out).
// Scores are never averaged across raters: each rater has their own series.
collabcare::v1::Progress ComputeProgress(const collabcare::v1::Episode& episode,
                                         const std::vector<collabcare::v1::Review>& reviews,
                                         const std::vector<collabcare::v1::Goal>& visible_goals,
                                         const ThresholdTable& thresholds);

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_PROGRESS_H_
