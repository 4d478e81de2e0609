// Episode → CarePlan (one per client who is a Patient) + CareTeam.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/codes.h"
#include "adapters/fhir/mapping.h"
#include "adapters/fhir/mapping_util.h"
#include "plugin/common/status_macros.h"

namespace collabcare::fhir {
namespace {

using internal::LazyArray;
using internal::NarratePerson;
using internal::ResourceWriter;

bool IsClosed(const v1::Episode& e) { return e.status() == v1::Episode::CLOSED; }

// "Individual, client-led, active" for narratives.
void NarrateEpisode(ResourceWriter& r, const v1::Episode& e) {
  JsonWriter& w = r.w();
  const Concept modality = ModalityConcept(e.modality());
  const Concept format = FormatConcept(e.format());
  if (!modality.display.empty()) {
    w.Text(modality.display);
    w.Markup(" work");
  } else {
    w.Markup("Work");
  }
  if (!format.display.empty()) {
    w.Markup(", ");
    w.Text(format.display);
  }
  w.Markup(IsClosed(e) ? ", closed." : ", active.");
}

void NarrateParticipants(ResourceWriter& r, const v1::Episode& e) {
  JsonWriter& w = r.w();
  if (e.participants().empty()) return;
  w.Markup("<ul>");
  for (const v1::Participant& p : e.participants()) {
    w.Markup("<li>");
    NarratePerson(r, p.person());
    const Concept role = RoleConcept(p.role());
    if (!role.display.empty()) {
      w.Markup(": ");
      w.Text(role.display);
    }
    w.Markup("</li>");
  }
  w.Markup("</ul>");
}

void Period(ResourceWriter& r, const v1::Episode& e) {
  const v1::RecordMeta& meta = e.meta();
  const bool start = !IsUnset(meta.create_time());
  const bool end = IsClosed(e) && !IsUnset(meta.update_time());
  if (!start && !end) return;
  JsonWriter& w = r.w();
  w.Key("period");
  w.BeginObject();
  if (start) {
    w.Key("start");
    w.Instant(meta.create_time(), "episode.meta.create_time");
  }
  if (end) {
    w.Key("end");
    w.Instant(meta.update_time(), "episode.meta.update_time");
  }
  w.EndObject();
}

absl::StatusOr<FhirResource> CarePlan(const v1::Episode& e, const v1::Participant& client,
                                      const MappingContext& ctx) {
  ResourceWriter r(ctx, "CarePlan", absl::StrCat(e.name(), "/careplans/", client.person()), false,
                   &e);
  JsonWriter& w = r.w();
  r.Meta(ctx.urls.profile_careplan);
  r.BeginNarrative();
  w.Markup("<p><b>Collaborative care</b> with ");
  NarratePerson(r, client.person());
  w.Markup(". ");
  NarrateEpisode(r, e);
  w.Markup("</p>");
  NarrateParticipants(r, e);
  r.EndNarrative();

  LazyArray ext(&w, "extension");
  r.RevisionExtension(ext, e.meta().revision());
  r.ExtensionCoding(ext, ctx.urls.ext_episode_format, ctx.urls.cs_episode_format,
                    FormatConcept(e.format()));
  r.ExtensionCoding(ext, ctx.urls.ext_episode_modality, ctx.urls.cs_episode_modality,
                    ModalityConcept(e.modality()));
  r.PreservedExtensions(ext);
  ext.Close();

  r.Identifier();
  w.TrustedField("status", IsClosed(e) ? "completed" : "active");
  w.TrustedField("intent", "plan");
  w.Key("category");
  w.BeginArray();
  r.CodeableConcept(ctx.urls.cs_record_kind, kKindEpisode);
  w.EndArray();
  w.TrustedField("title", "Collaborative care");
  r.PersonRef("subject", client.person());
  Period(r, e);
  if (!IsUnset(e.meta().create_time())) {
    w.Key("created");
    w.Instant(e.meta().create_time(), "episode.meta.create_time");
  }
  if (!e.meta().created_by().empty()) r.PersonRef("author", e.meta().created_by());
  LazyArray contributors(&w, "contributor");
  for (const v1::Participant& p : e.participants()) {
    contributors.Item();
    w.BeginObject();
    r.PersonRefBody(p.person());
    w.EndObject();
  }
  contributors.Close();
  w.Key("careTeam");
  w.BeginArray();
  w.BeginObject();
  r.RecordRefBody("CareTeam", absl::StrCat(e.name(), "/careteam"));
  w.EndObject();
  w.EndArray();
  if (ctx.goals != nullptr) {
    LazyArray goals(&w, "goal");
    for (const v1::Goal& g : *ctx.goals) {
      const v1::Participant* subject = internal::SubjectFor(e, g.owner());
      if (subject == nullptr || subject->person() != client.person() || g.name().empty()) {
        continue;
      }
      goals.Item();
      w.BeginObject();
      r.RecordRefBody("Goal", g.name());
      w.EndObject();
    }
    goals.Close();
  }
  return r.Finish(e, "episode");
}

absl::StatusOr<FhirResource> CareTeam(const v1::Episode& e, const v1::Participant& first_client,
                                      const MappingContext& ctx) {
  ResourceWriter r(ctx, "CareTeam", absl::StrCat(e.name(), "/careteam"), false, &e);
  JsonWriter& w = r.w();
  r.Meta("");
  r.BeginNarrative();
  w.Markup("<p><b>Care team</b> of a collaborative care episode. ");
  NarrateEpisode(r, e);
  w.Markup("</p>");
  NarrateParticipants(r, e);
  r.EndNarrative();
  LazyArray ext(&w, "extension");
  r.RevisionExtension(ext, e.meta().revision());
  r.PreservedExtensions(ext);
  ext.Close();
  r.Identifier();
  w.TrustedField("status", IsClosed(e) ? "inactive" : "active");
  w.TrustedField("name", "Collaborative care team");
  r.PersonRef("subject", first_client.person());
  Period(r, e);
  LazyArray participants(&w, "participant");
  for (const v1::Participant& p : e.participants()) {
    participants.Item();
    w.BeginObject();
    const Concept role = RoleConcept(p.role());
    if (!role.code.empty()) {
      w.Key("role");
      w.BeginArray();
      r.CodeableConcept(ctx.urls.cs_participant_role, role);
      w.EndArray();
    }
    r.PersonRef("member", p.person());
    w.EndObject();
  }
  participants.Close();
  return r.Finish(e, "episode");
}

}  // namespace

absl::StatusOr<std::vector<FhirResource>> EpisodeToFhir(const v1::Episode& episode,
                                                        const MappingContext& ctx) {
  if (episode.name().empty()) return absl::InvalidArgumentError("episode.name: required");
  std::vector<const v1::Participant*> clients;
  for (const v1::Participant& p : episode.participants()) {
    if (p.role() == v1::Participant::CLIENT && absl::StartsWith(p.person(), "Patient/")) {
      clients.push_back(&p);
    }
  }
  if (clients.empty()) {
    return absl::FailedPreconditionError("episode.participants: no CLIENT is a Patient");
  }
  std::vector<FhirResource> out;
  out.reserve(clients.size() + 1);
  for (const v1::Participant* client : clients) {
    ASSIGN_OR_RETURN(FhirResource plan, CarePlan(episode, *client, ctx));
    out.push_back(std::move(plan));
  }
  ASSIGN_OR_RETURN(FhirResource team, CareTeam(episode, *clients.front(), ctx));
  out.push_back(std::move(team));
  return out;
}

}  // namespace collabcare::fhir
