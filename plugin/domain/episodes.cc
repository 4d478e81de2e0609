// Rules for episodes.
#include "plugin/domain/episodes.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "plugin/common/status_macros.h"
#include "plugin/domain/access.h"
#include "plugin/domain/validation.h"

namespace collabcare::domain {
namespace {

namespace v1 = ::collabcare::v1;

absl::Status ValidateParticipants(const v1::Episode& e) {
  const std::string field = "episode.participants";
  if (e.participants_size() < 2) {
    return FieldError(field, "needs at least one therapist and one client or family member");
  }
  if (e.participants_size() > kMaxParticipants) {
    return FieldError(field, "may hold at most 64 participants");
  }
  std::set<std::string> seen;
  bool therapist = false, client_side = false;
  for (int i = 0; i < e.participants_size(); ++i) {
    const v1::Participant& p = e.participants(i);
    const std::string at = absl::StrCat(field, "[", i, "]");
    RETURN_IF_ERROR(ValidatePersonReference(p.person(), at + ".person"));
    if (!seen.insert(p.person()).second) return FieldError(at + ".person", "appears twice");
    if (!v1::Participant::Role_IsValid(p.role()) || p.role() == v1::Participant::ROLE_UNSPECIFIED) {
      return FieldError(at + ".role", "must be CLIENT, FAMILY_MEMBER or THERAPIST");
    }
    RETURN_IF_ERROR(ValidateText(p.display(), at + ".display", false, kMaxDisplayBytes));
    therapist = therapist || p.role() == v1::Participant::THERAPIST;
    client_side = client_side || IsClientSide(p.role());
  }
  if (!therapist) return FieldError(field, "needs at least one THERAPIST");
  if (!client_side) return FieldError(field, "needs at least one CLIENT or FAMILY_MEMBER");
  return absl::OkStatus();
}

absl::Status ValidateFormat(int format) {
  if (!v1::Episode::Format_IsValid(format) || format == v1::Episode::FORMAT_UNSPECIFIED) {
    return FieldError("episode.format", "must be CLIENT_LED or THERAPIST_LED");
  }
  return absl::OkStatus();
}

absl::Status ValidateModality(int modality) {
  if (!v1::Episode::Modality_IsValid(modality) || modality == v1::Episode::MODALITY_UNSPECIFIED) {
    return FieldError("episode.modality", "must be INDIVIDUAL, COUPLE, FAMILY or GROUP");
  }
  return absl::OkStatus();
}

absl::Status ValidateStatus(int status, bool allow_unspecified) {
  if (!v1::Episode::Status_IsValid(status) ||
      (!allow_unspecified && status == v1::Episode::STATUS_UNSPECIFIED)) {
    return FieldError("episode.status", "must be ACTIVE or CLOSED");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Episode> NewEpisode(const std::string& caller, const v1::Episode& input) {
  RETURN_IF_ERROR(ValidateParticipants(input));
  RETURN_IF_ERROR(ValidateFormat(input.format()));
  RETURN_IF_ERROR(ValidateModality(input.modality()));
  RETURN_IF_ERROR(ValidateStatus(input.status(), /*allow_unspecified=*/true));
  if (!IsTherapist(input, caller)) {
    return absl::PermissionDeniedError(
        "only a therapist who is one of the episode's participants may open it");
  }
  v1::Episode episode;
  *episode.mutable_participants() = input.participants();
  episode.set_format(input.format());
  episode.set_modality(input.modality());
  episode.set_status(input.status() == v1::Episode::STATUS_UNSPECIFIED ? v1::Episode::ACTIVE
                                                                       : input.status());
  return episode;
}

absl::StatusOr<v1::Episode> UpdateEpisode(const std::string& caller, const v1::Episode& current,
                                          const v1::Episode& patch,
                                          const std::vector<std::string>& mask) {
  if (mask.empty()) return FieldError("update_mask", "must name at least one field");
  if (!IsTherapist(current, caller)) {
    return absl::PermissionDeniedError("only the episode's therapists may change it");
  }
  v1::Episode next = current;
  for (const std::string& path : mask) {
    if (path == "participants") {
      RETURN_IF_ERROR(ValidateParticipants(patch));
      *next.mutable_participants() = patch.participants();
    } else if (path == "format") {
      RETURN_IF_ERROR(ValidateFormat(patch.format()));
      next.set_format(patch.format());
    } else if (path == "modality") {
      RETURN_IF_ERROR(ValidateModality(patch.modality()));
      next.set_modality(patch.modality());
    } else if (path == "status") {
      RETURN_IF_ERROR(ValidateStatus(patch.status(), /*allow_unspecified=*/false));
      next.set_status(patch.status());
    } else {
      return FieldError("update_mask", "may name only participants, format, modality and status");
    }
  }
  if (current.status() == v1::Episode::CLOSED && next.status() == v1::Episode::CLOSED) {
    return RequireOpenEpisode(current);  // a closed episode can only be reopened
  }
  if (!IsTherapist(next, caller)) {
    return FieldError("episode.participants",
                      "must keep the caller as a THERAPIST (ask another therapist to remove "
                      "you)");
  }
  return next;
}

}  // namespace collabcare::domain
