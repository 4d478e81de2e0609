// Argument checks shared by every Store implementation.
#include "plugin/store/store_checks.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "plugin/common/status_macros.h"

namespace collabcare::store::internal {

absl::Status CheckMutation(const Mutation& mutation) {
  const RecordRevision& record = mutation.record;
  if (record.name.empty()) {
    return absl::InvalidArgumentError("Mutation.record.name is empty");
  }
  if (record.episode_id.empty()) {
    return absl::InvalidArgumentError("Mutation.record.episode_id is empty");
  }
  const int kind = static_cast<int>(record.kind);
  if (kind < static_cast<int>(RecordKind::kEpisode) ||
      kind > static_cast<int>(RecordKind::kReview)) {
    return absl::InvalidArgumentError(absl::StrCat("Mutation.record.kind ", kind, " is unknown"));
  }
  if (mutation.participants.has_value() && record.kind != RecordKind::kEpisode) {
    return absl::InvalidArgumentError(
        "Mutation.participants is set on a record that is no episode");
  }
  return absl::OkStatus();
}

absl::Status CheckLimit(int limit, absl::string_view field) {
  if (limit < 1) return absl::InvalidArgumentError(absl::StrCat(field, " must be at least 1"));
  return absl::OkStatus();
}

absl::Status CheckHost(const std::string& host, absl::string_view field) {
  if (host.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  return absl::OkStatus();
}

absl::Status CheckRemoteRef(const RemoteRef& ref) {
  RETURN_IF_ERROR(CheckHost(ref.host, "RemoteRef.host"));
  if (ref.key.empty()) return absl::InvalidArgumentError("RemoteRef.key is empty");
  return absl::OkStatus();
}

absl::Status CheckParkedChange(const ParkedChange& change) {
  RETURN_IF_ERROR(CheckHost(change.host, "ParkedChange.host"));
  if (change.outcome.size() > kMaxParkedOutcomeBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ParkedChange.outcome is longer than ", kMaxParkedOutcomeBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace collabcare::store::internal
