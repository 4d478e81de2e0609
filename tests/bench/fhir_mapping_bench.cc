// FHIR mapping throughput (DESIGN.md "Performance targets": at least 100,000 resources per second
// per core, domain → FHIR JSON). Each benchmark maps realistic records from the golden cases on
// one thread and reports `resources` per second (= per core) and bytes of JSON per second.
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "adapters/fhir/bundle.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/mapping.h"
#include "adapters/fhir/reading.h"
#include "benchmark/benchmark.h"
#include "plugin/store/store.h"
#include "tests/fhir/golden_cases.h"

namespace collabcare::fhir {
namespace {

struct Fixture {
  Fixture() : episode(testing::FamilyEpisode()), goals(testing::FamilyGoals()) {
    ctx.episode = &episode;
    ctx.goals = &goals;
  }
  v1::Episode episode;
  std::vector<v1::Goal> goals;
  MappingContext ctx;
};

// Runs `map` (returning StatusOr<vector<FhirResource>>) and counts resources and bytes.
template <typename Map>
void Run(benchmark::State& state, Map map) {
  int64_t resources = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    auto out = map();
    if (!out.ok()) {
      state.SkipWithError("mapping failed");
      return;
    }
    for (const FhirResource& r : *out) bytes += static_cast<int64_t>(r.json.size());
    resources += static_cast<int64_t>(out->size());
    benchmark::DoNotOptimize(out);
  }
  state.counters["resources"] =
      benchmark::Counter(static_cast<double>(resources), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(bytes);
}

void BM_GoalToFhir(benchmark::State& state) {
  Fixture f;
  const v1::Goal goal = testing::RestatedCorrectedGoal();  // Goal + Provenance
  Run(state, [&] { return GoalToFhir(goal, f.ctx); });
}
BENCHMARK(BM_GoalToFhir);

void BM_HypothesisWithResponsesToFhir(benchmark::State& state) {
  Fixture f;
  // ClinicalImpression + Condition + 5 response Observations.
  const v1::Hypothesis h = testing::ProfessionalHypothesis();
  Run(state, [&] { return HypothesisToFhir(h, f.ctx); });
}
BENCHMARK(BM_HypothesisWithResponsesToFhir);

void BM_SignedReviewToFhir(benchmark::State& state) {
  Fixture f;
  // 3 raters on 2 goals, ORS and SRS from 2 raters, GBO: 5 QuestionnaireResponses, 5 totals,
  // 6 ratings, a Composition and a Provenance with 6 signatures.
  const v1::Review review = testing::SignedReview();
  Run(state, [&] { return ReviewToFhir(review, f.ctx); });
}
BENCHMARK(BM_SignedReviewToFhir);

void BM_EpisodeToFhir(benchmark::State& state) {
  Fixture f;
  Run(state, [&] { return EpisodeToFhir(f.episode, f.ctx); });
}
BENCHMARK(BM_EpisodeToFhir);

void BM_AuditToFhir(benchmark::State& state) {
  Fixture f;
  store::AuditRecord a;
  a.time = absl::FromUnixSeconds(1772467200);
  a.actor = "Patient/1";
  a.action = "collabcare.v1.GoalService/GetGoal";
  a.resource = "episodes/e1/goals/g1";
  a.episode_id = "e1";
  a.request_id = "req-7f3a";
  Run(state, [&]() -> absl::StatusOr<std::vector<FhirResource>> {
    absl::StatusOr<FhirResource> r = AuditToFhir(a, f.ctx);
    if (!r.ok()) return r.status();
    std::vector<FhirResource> out;
    out.push_back(*std::move(r));
    return out;
  });
}
BENCHMARK(BM_AuditToFhir);

void BM_ReviewNoteToFhir(benchmark::State& state) {
  Fixture f;
  const v1::Review review = testing::SignedReview();
  Run(state, [&]() -> absl::StatusOr<std::vector<FhirResource>> {
    absl::StatusOr<FhirResource> r = NoteToFhir(review, f.ctx);
    if (!r.ok()) return r.status();
    std::vector<FhirResource> out;
    out.push_back(*std::move(r));
    return out;
  });
}
BENCHMARK(BM_ReviewNoteToFhir);

// A session's worth: one goal, one hypothesis with its responses, one signed review.
void BM_SessionToFhir(benchmark::State& state) {
  Fixture f;
  const v1::Goal goal = testing::RestatedCorrectedGoal();
  const v1::Hypothesis h = testing::ProfessionalHypothesis();
  const v1::Review review = testing::SignedReview();
  Run(state, [&]() -> absl::StatusOr<std::vector<FhirResource>> {
    absl::StatusOr<std::vector<FhirResource>> out = GoalToFhir(goal, f.ctx);
    if (!out.ok()) return out;
    absl::StatusOr<std::vector<FhirResource>> hypothesis = HypothesisToFhir(h, f.ctx);
    if (!hypothesis.ok()) return hypothesis.status();
    absl::StatusOr<std::vector<FhirResource>> signed_review = ReviewToFhir(review, f.ctx);
    if (!signed_review.ok()) return signed_review.status();
    for (std::vector<FhirResource>* part : {&*hypothesis, &*signed_review}) {
      for (FhirResource& r : *part) out->push_back(std::move(r));
    }
    return out;
  });
}
BENCHMARK(BM_SessionToFhir);

// The transaction Bundle re-parses each resource to wire references (not on the mapping path).
void BM_SignedReviewBundle(benchmark::State& state) {
  Fixture f;
  const std::vector<FhirResource> resources = *ReviewToFhir(testing::SignedReview(), f.ctx);
  int64_t n = 0;
  for (auto _ : state) {
    absl::StatusOr<std::string> bundle = TransactionBundle(resources, f.ctx.urls);
    benchmark::DoNotOptimize(bundle);
    n += static_cast<int64_t>(resources.size());
  }
  state.counters["resources"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SignedReviewBundle);

// FHIR → domain for comparison: reading a goal back.
void BM_GoalFromFhir(benchmark::State& state) {
  Fixture f;
  const std::string json = GoalToFhir(testing::RestatedCorrectedGoal(), f.ctx)->front().json;
  absl::flat_hash_set<std::string> known;
  ReadContext ctx;
  ctx.episode = &f.episode;
  ctx.known_names = &known;
  int64_t n = 0;
  for (auto _ : state) {
    auto read = GoalFromFhir(json, ctx);
    benchmark::DoNotOptimize(read);
    ++n;
  }
  state.counters["resources"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GoalFromFhir);

}  // namespace
}  // namespace collabcare::fhir

BENCHMARK_MAIN();
