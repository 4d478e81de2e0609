// The in-memory Store: a real fake with the same contract as SQLite (minus durability), for
// tests of the layers above the store.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "plugin/common/status_macros.h"
#include "plugin/store/store.h"
#include "plugin/store/store_checks.h"

namespace collabcare::store {
namespace {

using internal::CheckHost;
using internal::CheckLimit;
using internal::CheckMutation;
using internal::CheckParkedChange;
using internal::CheckRemoteRef;
using internal::TruncateToMicros;

// One row of an episode's event log; the revision it announces is looked up on read.
struct EventRow {
  int64_t sequence = 0;
  absl::Time time;
  std::string actor;
  int kind = 0;
  std::string name;
  int64_t revision = 0;
};

// In a vector holding numbers 1, 2, … at indexes 0, 1, …: the index of the first number
// greater than `after`.
size_t FirstIndexAfter(int64_t after, size_t size) {
  if (after <= 0) return 0;
  return static_cast<uint64_t>(after) >= size ? size : static_cast<size_t>(after);
}

class MemoryStore final : public Store {
 public:
  absl::StatusOr<CommitResult> Commit(const Mutation& mutation) override {
    RETURN_IF_ERROR(CheckMutation(mutation));
    RecordRevision record = mutation.record;
    record.time = TruncateToMicros(record.time);

    std::lock_guard<std::mutex> lock(mu_);
    // Checked before the revision: a retried request whose first attempt won must be told to
    // replay its response, not that it lost a race against itself.
    if (!mutation.request_key.empty() && requests_.contains(mutation.request_key)) {
      return absl::AlreadyExistsError("Mutation.request_key is already stored");
    }
    std::vector<RecordRevision>& revisions = revisions_[record.name];
    const int64_t expected = static_cast<int64_t>(revisions.size()) + 1;
    if (record.revision != expected) {
      if (revisions.empty()) revisions_.erase(record.name);
      return absl::AbortedError(absl::StrCat("Mutation.record.revision is ", record.revision,
                                             ", the next revision is ", expected));
    }

    // Nothing below can fail, so the change is all or nothing.
    if (!revisions.empty()) {
      const RecordRevision& previous = revisions.back();
      by_episode_kind_[{previous.episode_id, previous.kind}].erase(record.name);
    }
    by_episode_kind_[{record.episode_id, record.kind}].insert(record.name);

    std::vector<EventRow>& events = events_[record.episode_id];
    const int64_t sequence = events.empty() ? 1 : events.back().sequence + 1;
    events.push_back({.sequence = sequence,
                      .time = record.time,
                      .actor = record.actor,
                      .kind = mutation.event_kind,
                      .name = record.name,
                      .revision = record.revision});

    AppendAudit(mutation.audit);
    outbox_.push_back({.id = static_cast<int64_t>(outbox_.size()) + 1,
                       .episode_id = record.episode_id,
                       .sequence = sequence,
                       .name = record.name,
                       .revision = record.revision,
                       .kind = record.kind});

    if (mutation.participants.has_value()) {
      std::set<std::string>& current = participants_of_[record.name];
      for (const std::string& person : current) {
        auto it = episodes_of_.find(person);
        it->second.erase(record.name);
        if (it->second.empty()) episodes_of_.erase(it);
      }
      current.clear();
      for (const std::string& person : *mutation.participants) {
        current.insert(person);
        episodes_of_[person].insert(record.name);
      }
    }

    if (!mutation.request_key.empty()) requests_[mutation.request_key] = mutation.response;
    revisions.push_back(std::move(record));
    return CommitResult{.sequence = sequence};
  }

  absl::StatusOr<std::optional<StoredResponse>> FindResponse(
      const std::string& request_key) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = requests_.find(request_key);
    if (it == requests_.end()) return std::nullopt;
    return it->second;
  }

  absl::Status Audit(const AuditRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    AppendAudit(record);
    return absl::OkStatus();
  }

  void AuditLater(const AuditRecord& record) override { Audit(record).IgnoreError(); }

  absl::StatusOr<RecordRevision> GetLatest(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = revisions_.find(name);
    if (it == revisions_.end()) return absl::NotFoundError("no record with that name");
    return it->second.back();
  }

  absl::StatusOr<RecordRevision> GetRevision(const std::string& name, int64_t revision) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = revisions_.find(name);
    if (it == revisions_.end() || revision < 1 ||
        revision > static_cast<int64_t>(it->second.size())) {
      return absl::NotFoundError(absl::StrCat("no revision ", revision, " of that record"));
    }
    return it->second[revision - 1];
  }

  absl::StatusOr<std::vector<RecordRevision>> ListLatest(const std::string& episode_id,
                                                         RecordKind kind,
                                                         const Page& page) override {
    RETURN_IF_ERROR(CheckLimit(page.limit, "Page.limit"));
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<RecordRevision> out;
    auto names = by_episode_kind_.find({episode_id, kind});
    if (names == by_episode_kind_.end()) return out;
    for (auto it = names->second.upper_bound(page.after);
         it != names->second.end() && static_cast<int>(out.size()) < page.limit; ++it) {
      out.push_back(revisions_.at(*it).back());
    }
    return out;
  }

  absl::StatusOr<std::vector<RecordRevision>> ListRevisions(const std::string& name,
                                                            int64_t after_revision,
                                                            int limit) override {
    RETURN_IF_ERROR(CheckLimit(limit, "limit"));
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<RecordRevision> out;
    auto it = revisions_.find(name);
    if (it == revisions_.end()) return out;
    const std::vector<RecordRevision>& revisions = it->second;
    // Revision r sits at index r - 1.
    for (size_t i = FirstIndexAfter(after_revision, revisions.size());
         i < revisions.size() && static_cast<int>(out.size()) < limit; ++i) {
      out.push_back(revisions[i]);
    }
    return out;
  }

  absl::StatusOr<std::vector<RecordRevision>> ListEpisodesOf(const std::string& person,
                                                             const Page& page) override {
    RETURN_IF_ERROR(CheckLimit(page.limit, "Page.limit"));
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<RecordRevision> out;
    auto names = episodes_of_.find(person);
    if (names == episodes_of_.end()) return out;
    for (auto it = names->second.upper_bound(page.after);
         it != names->second.end() && static_cast<int>(out.size()) < page.limit; ++it) {
      out.push_back(revisions_.at(*it).back());
    }
    return out;
  }

  absl::StatusOr<std::vector<StoredEvent>> ReadEvents(const std::string& episode_id,
                                                      int64_t after_sequence, int limit) override {
    RETURN_IF_ERROR(CheckLimit(limit, "limit"));
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<StoredEvent> out;
    auto it = events_.find(episode_id);
    if (it == events_.end()) return out;
    const std::vector<EventRow>& rows = it->second;
    // Sequence s sits at index s - 1.
    for (size_t i = FirstIndexAfter(after_sequence, rows.size());
         i < rows.size() && static_cast<int>(out.size()) < limit; ++i) {
      const EventRow& row = rows[i];
      out.push_back({.episode_id = episode_id,
                     .sequence = row.sequence,
                     .time = row.time,
                     .actor = row.actor,
                     .kind = row.kind,
                     .record = revisions_.at(row.name)[row.revision - 1]});
    }
    return out;
  }

  absl::StatusOr<std::vector<AuditRecord>> ReadAudit(absl::Time from, absl::Time to,
                                                     int limit) override {
    RETURN_IF_ERROR(CheckLimit(limit, "limit"));
    const int64_t to_micros = absl::ToUnixMicros(to);
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<AuditRecord> out;
    for (auto it = audit_.lower_bound(absl::ToUnixMicros(from));
         it != audit_.end() && it->first < to_micros && static_cast<int>(out.size()) < limit;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  absl::StatusOr<std::vector<OutboxEntry>> ReadOutbox(int64_t after_id, int limit) override {
    RETURN_IF_ERROR(CheckLimit(limit, "limit"));
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<OutboxEntry> out;
    // Id i sits at index i - 1.
    for (size_t i = FirstIndexAfter(after_id, outbox_.size());
         i < outbox_.size() && static_cast<int>(out.size()) < limit; ++i) {
      out.push_back(outbox_[i]);
    }
    return out;
  }

  absl::StatusOr<int64_t> GetSyncCursor(const std::string& host) override {
    RETURN_IF_ERROR(CheckHost(host, "host"));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cursors_.find(host);
    return it == cursors_.end() ? 0 : it->second;
  }

  absl::Status SetSyncCursor(const std::string& host, int64_t outbox_id) override {
    RETURN_IF_ERROR(CheckHost(host, "host"));
    std::lock_guard<std::mutex> lock(mu_);
    // A missing cursor is 0, so a negative id is ignored too, as in SQLite.
    if (outbox_id > 0) {
      int64_t& cursor = cursors_[host];
      cursor = std::max(cursor, outbox_id);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<RemoteRef>> GetRemote(const std::string& host,
                                                     const std::string& key) override {
    RETURN_IF_ERROR(CheckHost(host, "host"));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = remotes_.find({host, key});
    if (it == remotes_.end()) return std::nullopt;
    return it->second;
  }

  absl::Status PutRemote(const RemoteRef& ref) override {
    RETURN_IF_ERROR(CheckRemoteRef(ref));
    RemoteRef copy = ref;
    copy.time = TruncateToMicros(copy.time);
    std::lock_guard<std::mutex> lock(mu_);
    remotes_.insert_or_assign({ref.host, ref.key}, std::move(copy));
    return absl::OkStatus();
  }

  absl::Status Park(const ParkedChange& change) override {
    RETURN_IF_ERROR(CheckParkedChange(change));
    ParkedChange copy = change;
    copy.time = TruncateToMicros(copy.time);
    std::lock_guard<std::mutex> lock(mu_);
    parked_.insert_or_assign({change.host, change.outbox_id}, std::move(copy));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<ParkedChange>> ListParked(const std::string& host,
                                                       int limit) override {
    RETURN_IF_ERROR(CheckHost(host, "host"));
    RETURN_IF_ERROR(CheckLimit(limit, "limit"));
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<ParkedChange> out;
    for (auto it = parked_.lower_bound({host, std::numeric_limits<int64_t>::min()});
         it != parked_.end() && it->first.first == host && static_cast<int>(out.size()) < limit;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  absl::Status Unpark(const std::string& host, int64_t outbox_id) override {
    RETURN_IF_ERROR(CheckHost(host, "host"));
    std::lock_guard<std::mutex> lock(mu_);
    if (parked_.erase({host, outbox_id}) == 0) {
      return absl::NotFoundError(absl::StrCat("no parked change with outbox id ", outbox_id));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> CountOutboxAfter(int64_t after_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(outbox_.size() - FirstIndexAfter(after_id, outbox_.size()));
  }

 private:
  // Requires mu_.
  void AppendAudit(const AuditRecord& record) {
    AuditRecord copy = record;
    copy.time = TruncateToMicros(copy.time);
    // A multimap keeps records with equal times in insertion order, as SQLite's rowid does.
    audit_.emplace(absl::ToUnixMicros(copy.time), std::move(copy));
  }

  // std::mutex rather than absl::Mutex: Debian's Abseil is a prebuilt library that
  // ThreadSanitizer cannot see into, so absl::Mutex there yields false race reports.
  std::mutex mu_;  // Guards everything below.
  // name -> its revisions; revision r at index r - 1.
  std::map<std::string, std::vector<RecordRevision>> revisions_;
  // (episode_id, kind) of each record's latest revision -> record names.
  std::map<std::pair<std::string, RecordKind>, std::set<std::string>> by_episode_kind_;
  // episode_id -> its events, by sequence.
  std::map<std::string, std::vector<EventRow>> events_;
  // time in microseconds -> audit records.
  std::multimap<int64_t, AuditRecord> audit_;
  // Entry with id i at index i - 1.
  std::vector<OutboxEntry> outbox_;
  // Episode name -> its current participants, and the inverse index.
  std::map<std::string, std::set<std::string>> participants_of_;
  std::map<std::string, std::set<std::string>> episodes_of_;
  // request_key -> remembered response.
  std::map<std::string, StoredResponse> requests_;
  // host -> its sync cursor (absent = 0).
  std::map<std::string, int64_t> cursors_;
  // (host, key) -> what was written there.
  std::map<std::pair<std::string, std::string>, RemoteRef> remotes_;
  // (host, outbox_id) -> the parked change; ordered so that ListParked walks one host's.
  std::map<std::pair<std::string, int64_t>, ParkedChange> parked_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace collabcare::store
