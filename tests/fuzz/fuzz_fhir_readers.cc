// libFuzzer target for the FHIR → domain readers: any bytes, read as every resource type the
// readers accept, must give a record or INVALID_ARGUMENT, never a crash, a sanitizer report or
// another status code. Seed it with the golden files: fhir_golden --out DIR.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/json_value.h"
#include "adapters/fhir/reading.h"
#include "tests/fhir/golden_cases.h"

namespace {

using collabcare::fhir::ReadContext;

struct Context {
  Context() : episode(collabcare::fhir::testing::FamilyEpisode()) {
    for (const collabcare::v1::Goal& g : collabcare::fhir::testing::FamilyGoals()) {
      known.insert(g.name());
    }
    for (const char* name :
         {"episodes/e1/hypotheses/h1", "episodes/e1/hypotheses/h2", "episodes/e1/hypotheses/h3",
          "episodes/e1/hypotheses/h4", "episodes/e1/reviews/r1", "episodes/e1/reviews/r2"}) {
      known.insert(name);
    }
    ctx.episode = &episode;
    ctx.known_names = &known;
  }
  collabcare::v1::Episode episode;
  absl::flat_hash_set<std::string> known;
  ReadContext ctx;
};

void Check(const absl::Status& status) {
  if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Context* const context = new Context();
  const ReadContext& ctx = context->ctx;
  const absl::string_view in(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<collabcare::fhir::JsonValue> json = collabcare::fhir::ParseJson(in);
  Check(json.status());
  if (json.ok()) {
    // What the parser accepts serializes to JSON it accepts again, with the same content.
    absl::StatusOr<collabcare::fhir::JsonValue> again =
        collabcare::fhir::ParseJson(collabcare::fhir::SerializeJson(*json));
    if (!again.ok() || !(*again == *json)) std::abort();
  }
  Check(collabcare::fhir::GoalFromFhir(in, ctx).status());
  Check(collabcare::fhir::HypothesisFromFhir(in, "", ctx).status());
  Check(collabcare::fhir::ResponseFromFhir(in, ctx).status());
  Check(collabcare::fhir::RatingFromFhir(in, ctx).status());
  Check(collabcare::fhir::InstrumentScoreFromFhir(in, ctx).status());
  Check(collabcare::fhir::ReviewScoresFromFhir({in}, ctx).status());
  Check(collabcare::fhir::EpisodeFromFhir(in, {in}, ReadContext()).status());
  // The same bytes as the Condition of a valid impression would need a valid impression;
  // split the input in two to reach the Condition reader too.
  const size_t half = size / 2;
  Check(collabcare::fhir::HypothesisFromFhir(in.substr(0, half), in.substr(half), ctx).status());
  return 0;
}
