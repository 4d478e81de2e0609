// The read-back poller (see read_back.h).
#include "adapters/host/sync/read_back.h"

#include <openssl/evp.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/fhir/reading.h"
#include "plugin/common/log.h"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

// Store::Park keeps at most 64 KiB of outcome; the EHR's Goal is left out of larger ones.
constexpr size_t kMaxOutcome = 60 << 10;

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

std::string StringAt(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// meta.lastUpdated in epoch milliseconds; nullopt if absent or not an instant.
std::optional<int64_t> LastUpdatedMillis(const nlohmann::json& resource) {
  const std::string text =
      resource.contains("meta") ? StringAt(resource["meta"], "lastUpdated") : "";
  absl::Time t;
  std::string error;
  if (text.empty() || !absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return std::nullopt;
  return absl::ToUnixMillis(t);
}

std::string Instant(int64_t millis) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(millis),
                          absl::UTCTimeZone());
}

// Refusals of the use case that are conflicts to keep visible, not failures to retry.
bool IsConflict(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

}  // namespace

int64_t ReadBackPoller::ConflictId(const std::string& resource_id, const std::string& version_id) {
  const std::string digest = Sha256(absl::StrCat(resource_id, "\n", version_id));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(digest[i]);
  const int64_t id = static_cast<int64_t>(v & ((uint64_t{1} << 53) - 1));
  return id == 0 ? 1 : id;
}

ReadBackPoller::ReadBackPoller(ReadBackOptions options, FhirClient* client, store::Store* store,
                               RecordHostGoalChangeFn record, const Clock* clock, Sleeper* sleeper)
    : options_(std::move(options)),
      client_(client),
      store_(store),
      record_(std::move(record)),
      clock_(clock),
      sleeper_(sleeper) {
  if (options_.metrics != nullptr) {
    applied_ = &options_.metrics->Counter(
        "collabcare_sync_read_back_applied_total",
        "Goal changes made in the host EHR and recorded as new revisions.", {"host"});
    conflicts_ = &options_.metrics->Counter(
        "collabcare_sync_read_back_conflicts_total",
        "Goal changes made in the host EHR that were not applied and were parked.", {"host"});
  }
}

void ReadBackPoller::Run() {
  Log(LogLevel::kInfo, "read_back_started", {{"host", options_.host}});
  while (!stopping_.load()) {
    absl::StatusOr<ReadBackCounts> counts = PollOnce();
    if (!counts.ok()) {
      Log(LogLevel::kWarning, "read_back_failed",
          {{"host", options_.host}, {"code", absl::StatusCodeToString(counts.status().code())}});
    } else if (counts->applied > 0 || counts->conflicts > 0) {
      Log(LogLevel::kInfo, "read_back",
          {{"host", options_.host},
           {"read", absl::StrCat(counts->read)},
           {"applied", absl::StrCat(counts->applied)},
           {"conflicts", absl::StrCat(counts->conflicts)}});
    }
    if (!sleeper_->SleepFor(options_.poll_interval)) break;
  }
  Log(LogLevel::kInfo, "read_back_stopped", {{"host", options_.host}});
}

void ReadBackPoller::Stop() {
  stopping_.store(true);
  sleeper_->Interrupt();
}

absl::StatusOr<ReadBackCounts> ReadBackPoller::PollOnce() {
  const std::string key = WatermarkKey(options_.host);
  ASSIGN_OR_RETURN(int64_t watermark, store_->GetSyncCursor(key));
  SearchParams params;
  if (watermark > 0) {
    params.emplace_back(
        "_lastUpdated",
        absl::StrCat("gt", Instant(watermark - absl::ToInt64Milliseconds(options_.overlap))));
  }
  params.emplace_back("_sort", "_lastUpdated");
  params.emplace_back("_count", absl::StrCat(std::max(options_.page_size, 1)));
  if (options_.filter_by_identifier) {
    params.emplace_back("identifier", absl::StrCat(options_.urls.record_identifier, "|"));
  }
  ASSIGN_OR_RETURN(SearchResult found,
                   client_->Search("Goal", params, std::max(options_.max_pages, 1)));
  ReadBackCounts counts;
  int64_t reached = watermark;
  absl::Status failure;
  const nlohmann::json& entries = found.bundle["entry"];
  for (const nlohmann::json& entry : entries) {
    if (stopping_.load()) break;
    const nlohmann::json& goal = entry.is_object() && entry.contains("resource")
                                     ? entry["resource"]
                                     : nlohmann::json::object();
    if (StringAt(goal, "resourceType") != "Goal") continue;
    ++counts.read;
    const std::string version =
        absl::StrCat(StringAt(goal, "id"), "|",
                     goal.contains("meta") ? StringAt(goal["meta"], "versionId") : "");
    const int64_t updated = LastUpdatedMillis(goal).value_or(watermark);
    if (seen_.count(version) != 0) {
      ++counts.unchanged;
      reached = std::max(reached, updated);
      continue;
    }
    absl::StatusOr<Outcome> outcome = Handle(goal);
    if (!outcome.ok()) {
      failure = outcome.status();  // read again next poll
      break;
    }
    switch (*outcome) {
      case Outcome::kUnchanged:
        ++counts.unchanged;
        break;
      case Outcome::kApplied:
        ++counts.applied;
        if (applied_ != nullptr) applied_->Add({options_.host});
        break;
      case Outcome::kConflict:
        ++counts.conflicts;
        if (conflicts_ != nullptr) conflicts_->Add({options_.host});
        break;
      case Outcome::kSkipped:
        ++counts.skipped;
        break;
    }
    seen_[version] = updated;
    reached = std::max(reached, updated);
  }
  if (reached > watermark) RETURN_IF_ERROR(store_->SetSyncCursor(key, reached));
  // Versions older than the next search's start cannot come back.
  const int64_t horizon = reached - 2 * absl::ToInt64Milliseconds(options_.overlap);
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = it->second < horizon ? seen_.erase(it) : std::next(it);
  }
  RETURN_IF_ERROR(failure);
  return counts;
}

absl::StatusOr<ReadBackPoller::Outcome> ReadBackPoller::Handle(const nlohmann::json& goal) {
  const std::string id = StringAt(goal, "id");
  const std::string version = goal.contains("meta") ? StringAt(goal["meta"], "versionId") : "";
  // collabcare's Goals carry its record identifier.
  std::string name;
  if (goal.contains("identifier") && goal["identifier"].is_array()) {
    for (const nlohmann::json& identifier : goal["identifier"]) {
      if (StringAt(identifier, "system") == options_.urls.record_identifier) {
        name = StringAt(identifier, "value");
      }
    }
  }
  const size_t goals_at = name.find("/goals/");
  if (!absl::StartsWith(name, "episodes/") || goals_at == std::string::npos || id.empty()) {
    return Outcome::kSkipped;
  }
  const std::string episode_name = name.substr(0, goals_at);
  absl::StatusOr<store::RecordRevision> episode_revision = store_->GetLatest(episode_name);
  if (absl::IsNotFound(episode_revision.status())) return Outcome::kSkipped;  // not this store's
  RETURN_IF_ERROR(episode_revision.status());
  v1::Episode episode;
  if (!episode.ParseFromString(episode_revision->data)) {
    return absl::InternalError("read-back: stored episode is unreadable");
  }
  fhir::ReadContext ctx;
  ctx.urls = options_.urls;
  ctx.episode = &episode;
  absl::StatusOr<fhir::FromFhir<v1::Goal>> read =
      fhir::GoalFromFhir(goal.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), ctx);
  if (!read.ok()) {
    // The reader's messages name element paths only.
    RETURN_IF_ERROR(
        Park(name, goal, id, version, absl::StatusCode::kInvalidArgument,
             absl::StrCat("the EHR's Goal cannot be read back: ", read.status().message())));
    return Outcome::kConflict;
  }
  const v1::Goal& theirs = read->record;
  const int64_t based_on = theirs.meta().revision();
  absl::StatusOr<store::RecordRevision> base_revision =
      based_on > 0 ? store_->GetRevision(name, based_on)
                   : absl::NotFoundError("Goal.extension: no record-revision");
  if (absl::IsNotFound(base_revision.status())) {
    RETURN_IF_ERROR(Park(name, goal, id, version, absl::StatusCode::kFailedPrecondition,
                         "the EHR's Goal names no revision collabcare has (record-revision)"));
    return Outcome::kConflict;
  }
  RETURN_IF_ERROR(base_revision.status());
  v1::Goal base;
  if (!base.ParseFromString(base_revision->data)) {
    return absl::InternalError("read-back: stored goal is unreadable");
  }
  if (theirs.words() != base.words() || theirs.everyday_signs() != base.everyday_signs()) {
    RETURN_IF_ERROR(Park(name, goal, id, version, absl::StatusCode::kPermissionDenied,
                         "Goal.description.text: the goal's words are its owner's and were "
                         "changed in the EHR; not applied"));
    return Outcome::kConflict;
  }
  if (theirs.status() == base.status()) return Outcome::kUnchanged;  // an echo of our write
  // Already recorded (this version read again after a restart) or the same status reached in
  // collabcare meanwhile: nothing to apply, and nothing in conflict.
  ASSIGN_OR_RETURN(store::RecordRevision latest_revision, store_->GetLatest(name));
  v1::Goal latest;
  if (!latest.ParseFromString(latest_revision.data)) {
    return absl::InternalError("read-back: stored goal is unreadable");
  }
  if (latest.status() == theirs.status()) return Outcome::kUnchanged;

  HostGoalChange change;
  change.ehr_user = goal.contains("meta") && goal["meta"].contains("author")
                        ? StringAt(goal["meta"]["author"], "reference")
                        : "";
  if (change.ehr_user.empty()) change.ehr_user = options_.fallback_author;
  change.host = options_.host;
  change.goal = name;
  change.based_on_revision = based_on;
  change.status = theirs.status();
  change.request_id = absl::StrCat(
      "ehr-", absl::BytesToHexString(
                  Sha256(absl::StrCat(options_.host, "\n", id, "\n", version)).substr(0, 20)));
  if (change.ehr_user.empty()) {
    RETURN_IF_ERROR(Park(name, goal, id, version, absl::StatusCode::kPermissionDenied,
                         "the EHR's Goal names no author (meta.author) and no fallback is set"));
    return Outcome::kConflict;
  }
  absl::StatusOr<v1::Goal> recorded = record_(change);
  if (recorded.ok()) {
    Log(LogLevel::kInfo, "read_back_applied",
        {{"host", options_.host},
         {"name", name},
         {"revision", absl::StrCat(recorded->meta().revision())}});
    return Outcome::kApplied;
  }
  if (!IsConflict(recorded.status().code())) return recorded.status();
  // The use case's messages are collabcare's own (codes, revisions, statuses).
  RETURN_IF_ERROR(Park(name, goal, id, version, recorded.status().code(),
                       std::string(recorded.status().message())));
  return Outcome::kConflict;
}

absl::Status ReadBackPoller::Park(const std::string& name, const nlohmann::json& goal,
                                  const std::string& id, const std::string& version,
                                  absl::StatusCode code, const std::string& why) {
  store::ParkedChange change;
  change.host = ConflictHost(options_.host);
  change.outbox_id = ConflictId(id, version);
  change.name = name;
  absl::StatusOr<store::RecordRevision> latest = store_->GetLatest(name);
  change.revision = latest.ok() ? latest->revision : 0;
  change.time = clock_->Now();
  change.code = static_cast<int>(code);
  nlohmann::json outcome = {
      {"resourceType", "OperationOutcome"},
      {"issue",
       {{{"severity", "error"},
         {"code", "conflict"},
         {"diagnostics", absl::StrCat(why, " (EHR Goal/", id, " version ", version, ")")}}}}};
  nlohmann::json with_goal = outcome;
  with_goal["contained"] = nlohmann::json::array({goal});
  change.outcome = with_goal.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (change.outcome.size() > kMaxOutcome) {
    change.outcome = outcome.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  RETURN_IF_ERROR(store_->Park(change));
  Log(LogLevel::kWarning, "read_back_conflict",
      {{"host", options_.host},
       {"name", name},
       {"code", absl::StatusCodeToString(code)},
       {"outbox_id", absl::StrCat(change.outbox_id)}});
  return absl::OkStatus();
}

}  // namespace collabcare::host
