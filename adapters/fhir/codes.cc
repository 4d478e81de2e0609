// The local code tables: one row per enum value, read both ways.
#include "adapters/fhir/codes.h"

#include <optional>

#include "absl/strings/string_view.h"

namespace collabcare::fhir {
namespace {

template <typename Enum>
struct Row {
  Enum value;
  Concept value_concept;
};

template <typename Enum, size_t N>
Concept Find(const Row<Enum> (&rows)[N], Enum value) {
  for (const Row<Enum>& row : rows) {
    if (row.value == value) return row.value_concept;
  }
  return Concept{"", ""};
}

template <typename Enum, size_t N>
std::optional<Enum> Reverse(const Row<Enum> (&rows)[N], absl::string_view code) {
  if (code.empty()) return std::nullopt;
  for (const Row<Enum>& row : rows) {
    if (row.value_concept.code == code) return row.value;
  }
  return std::nullopt;
}

constexpr Row<v1::Episode::Format> kFormats[] = {
    {v1::Episode::CLIENT_LED, {"client-led", "Client-led"}},
    {v1::Episode::THERAPIST_LED, {"therapist-led", "Therapist-led"}},
};
constexpr Row<v1::Episode::Modality> kModalities[] = {
    {v1::Episode::INDIVIDUAL, {"individual", "Individual"}},
    {v1::Episode::COUPLE, {"couple", "Couple"}},
    {v1::Episode::FAMILY, {"family", "Family"}},
    {v1::Episode::GROUP, {"group", "Group"}},
};
constexpr Row<v1::Participant::Role> kRoles[] = {
    {v1::Participant::CLIENT, {"client", "Client"}},
    {v1::Participant::FAMILY_MEMBER, {"family-member", "Family member"}},
    {v1::Participant::THERAPIST, {"therapist", "Therapist"}},
};
constexpr Row<v1::Goal::Visibility> kVisibilities[] = {
    {v1::Goal::EPISODE, {"episode", "Every participant of the episode"}},
    {v1::Goal::OWNER_AND_THERAPISTS, {"owner-and-therapists", "The owner and the therapists"}},
};
constexpr Row<v1::Understanding::Verdict> kVerdicts[] = {
    {v1::Understanding::UNCONFIRMED, {"unconfirmed", "Not answered yet"}},
    {v1::Understanding::CONFIRMED, {"confirmed", "Confirmed by the owner"}},
    {v1::Understanding::CORRECTED, {"corrected", "Corrected by the owner"}},
};
constexpr Row<v1::Hypothesis::Kind> kKinds[] = {
    {v1::Hypothesis::PROFESSIONAL, {"professional", "Professional hypothesis"}},
    {v1::Hypothesis::PERSONAL, {"personal", "Personal hypothesis"}},
    {v1::Hypothesis::THEORETICAL, {"theoretical", "Theoretical hypothesis"}},
};
constexpr Row<v1::Hypothesis::Tentativeness> kTentativeness[] = {
    {v1::Hypothesis::WONDERING, {"wondering", "Wondering"}},
    {v1::Hypothesis::CONSIDERING, {"considering", "Considering"}},
    {v1::Hypothesis::FAIRLY_CONFIDENT, {"fairly-confident", "Fairly confident"}},
};
constexpr Row<v1::Hypothesis::Status> kHypothesisStatuses[] = {
    {v1::Hypothesis::OPEN, {"open", "Open"}},
    {v1::Hypothesis::SET_ASIDE, {"set-aside", "Set aside"}},
    {v1::Hypothesis::HELD_TOGETHER, {"held-together", "Held together"}},
};
constexpr Row<v1::HypothesisResponse::Stance> kStances[] = {
    {v1::HypothesisResponse::FITS, {"fits", "Fits"}},
    {v1::HypothesisResponse::PARTLY_FITS, {"partly-fits", "Partly fits"}},
    {v1::HypothesisResponse::DOES_NOT_FIT, {"does-not-fit", "Does not fit"}},
    {v1::HypothesisResponse::NOT_NOW, {"not-now", "Not now"}},
    {v1::HypothesisResponse::WANT_TO_TALK, {"want-to-talk", "Want to talk about it"}},
};

struct InstrumentRow {
  absl::string_view id;
  absl::string_view display;
  absl::string_view items[4];
};
// Item labels name the dimension each item rates (not the instruments' copyrighted wording).
constexpr InstrumentRow kInstruments[] = {
    {"ORS", "Outcome Rating Scale", {"Individually", "Interpersonally", "Socially", "Overall"}},
    {"ORS-ADOLESCENT",
     "Outcome Rating Scale (adolescent)",
     {"Individually", "Interpersonally", "Socially", "Overall"}},
    {"CORS",
     "Child Outcome Rating Scale",
     {"Individually", "Interpersonally", "Socially", "Overall"}},
    {"SRS",
     "Session Rating Scale",
     {"Relationship", "Goals and topics", "Approach or method", "Overall"}},
    {"GBO", "Goal-Based Outcomes", {"Goal 1", "Goal 2", "Goal 3", ""}},
};

}  // namespace

absl::string_view InstrumentDisplay(absl::string_view instrument_id) {
  for (const InstrumentRow& row : kInstruments) {
    if (row.id == instrument_id) return row.display;
  }
  return instrument_id;
}

absl::string_view InstrumentItemLabel(absl::string_view instrument_id, int index) {
  if (index < 0 || index >= 4) return "";
  for (const InstrumentRow& row : kInstruments) {
    if (row.id == instrument_id) return row.items[index];
  }
  return "";
}

absl::string_view GoalStatusWords(v1::Goal::Status status) {
  switch (status) {
    case v1::Goal::PROPOSED:
      return "proposed, waiting for the owner to accept it as their words";
    case v1::Goal::ACTIVE:
      return "active";
    case v1::Goal::PAUSED:
      return "paused";
    case v1::Goal::ACHIEVED:
      return "achieved";
    case v1::Goal::LET_GO:
      return "let go";
    default:
      return "not set";
  }
}

Concept FormatConcept(v1::Episode::Format v) { return Find(kFormats, v); }
Concept ModalityConcept(v1::Episode::Modality v) { return Find(kModalities, v); }
Concept RoleConcept(v1::Participant::Role v) { return Find(kRoles, v); }
Concept VisibilityConcept(v1::Goal::Visibility v) { return Find(kVisibilities, v); }
Concept VerdictConcept(v1::Understanding::Verdict v) { return Find(kVerdicts, v); }
Concept KindConcept(v1::Hypothesis::Kind v) { return Find(kKinds, v); }
Concept TentativenessConcept(v1::Hypothesis::Tentativeness v) { return Find(kTentativeness, v); }
Concept HypothesisStatusConcept(v1::Hypothesis::Status v) { return Find(kHypothesisStatuses, v); }
Concept StanceConcept(v1::HypothesisResponse::Stance v) { return Find(kStances, v); }

std::optional<v1::Episode::Format> FormatFromCode(absl::string_view c) {
  return Reverse(kFormats, c);
}
std::optional<v1::Episode::Modality> ModalityFromCode(absl::string_view c) {
  return Reverse(kModalities, c);
}
std::optional<v1::Participant::Role> RoleFromCode(absl::string_view c) {
  return Reverse(kRoles, c);
}
std::optional<v1::Goal::Visibility> VisibilityFromCode(absl::string_view c) {
  return Reverse(kVisibilities, c);
}
std::optional<v1::Understanding::Verdict> VerdictFromCode(absl::string_view c) {
  return Reverse(kVerdicts, c);
}
std::optional<v1::Hypothesis::Kind> KindFromCode(absl::string_view c) { return Reverse(kKinds, c); }
std::optional<v1::Hypothesis::Tentativeness> TentativenessFromCode(absl::string_view c) {
  return Reverse(kTentativeness, c);
}
std::optional<v1::Hypothesis::Status> HypothesisStatusFromCode(absl::string_view c) {
  return Reverse(kHypothesisStatuses, c);
}
std::optional<v1::HypothesisResponse::Stance> StanceFromCode(absl::string_view c) {
  return Reverse(kStances, c);
}

}  // namespace collabcare::fhir
