// The use cases behind every RPC of API v1.
#include "plugin/service/collab_service.h"

#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "plugin/common/status_macros.h"
#include "plugin/domain/access.h"
#include "plugin/domain/episodes.h"
#include "plugin/domain/goals.h"
#include "plugin/domain/hypotheses.h"
#include "plugin/domain/progress.h"
#include "plugin/domain/reviews.h"
#include "plugin/domain/timestamps.h"
#include "plugin/domain/validation.h"

namespace collabcare::service {

using store::RecordKind;

// What a call is about, for auditing.
struct CollabService::Context {
  std::string caller;
  std::string action;
  std::string resource;
  std::string episode_id = "";
  std::string request_id = "";
};

// A new revision of one record, as produced by a use case for Mutate to write.
template <typename Record>
struct CollabService::Change {
  Record record;  // name set; meta of the current revision (if any) kept
  RecordKind kind = RecordKind::kEpisode;
  std::string episode_id;
  v1::EpisodeEvent::Kind event = v1::EpisodeEvent::KIND_UNSPECIFIED;
  std::optional<std::vector<std::string>> participants;
  // The caller named the revision they changed (an etag): losing a race is then ABORTED for
  // them to resolve, instead of being retried on their behalf.
  bool conditional = false;
};

namespace {

constexpr char kEpisodeService[] = "collabcare.v1.EpisodeService/";
constexpr char kGoalService[] = "collabcare.v1.GoalService/";
constexpr char kHypothesisService[] = "collabcare.v1.HypothesisService/";
constexpr char kReviewService[] = "collabcare.v1.ReviewService/";
constexpr int kMaxAttempts = 16;  // unconditional writes re-read and retry after a lost race
constexpr int kMaxRecordsPerEpisode = 10000;  // progress and defaults read at most this many

std::string Etag(int64_t revision) { return absl::StrCat("r", revision); }

// ABORTED when the caller's etag does not name the current revision; an empty etag is
// unconditional.
absl::Status CheckEtag(const std::string& etag, const v1::RecordMeta& meta,
                       absl::string_view field) {
  if (etag.empty() || etag == meta.etag()) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat(field, ": the record changed since it was read (now ",
                                         meta.etag(), "); read it again"));
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), len));
}

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

template <typename Record>
absl::StatusOr<Record> Parse(const std::string& data) {
  Record record;
  if (!record.ParseFromString(data)) return absl::InternalError("stored record is unreadable");
  return record;
}

std::string EncodePageToken(absl::string_view position) {
  return absl::WebSafeBase64Escape(position);
}

absl::StatusOr<std::string> DecodePageToken(const std::string& token) {
  std::string position;
  if (!token.empty() && !absl::WebSafeBase64Unescape(token, &position)) {
    return domain::FieldError("page_token", "is not a token this service returned");
  }
  return position;
}

std::vector<std::string> MaskPaths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

std::set<std::string> GoalNames(const std::vector<v1::Goal>& goals) {
  std::set<std::string> names;
  for (const v1::Goal& g : goals) names.insert(g.name());
  return names;
}

// "episodes/{id}" → id (the name was validated when the episode was written).
std::string EpisodeIdOf(const v1::Episode& episode) {
  return episode.name().substr(sizeof("episodes/") - 1);
}

template <typename Record>
constexpr RecordKind kKindOf = RecordKind::kEpisode;
template <>
constexpr RecordKind kKindOf<v1::Goal> = RecordKind::kGoal;
template <>
constexpr RecordKind kKindOf<v1::Hypothesis> = RecordKind::kHypothesis;
template <>
constexpr RecordKind kKindOf<v1::Review> = RecordKind::kReview;

std::vector<std::string> PeopleOf(const v1::Episode& episode) {
  std::vector<std::string> people;
  for (const v1::Participant& p : episode.participants()) people.push_back(p.person());
  return people;
}

}  // namespace

CollabService::CollabService(store::Store& store, const Clock& clock, IdGenerator& ids,
                             EventHub& hub, Options options)
    : store_(store), clock_(clock), ids_(ids), hub_(hub), options_(options) {}

// ---------------------------------------------------------------------------------------
// Shared machinery.

void CollabService::AuditOutcome(const Context& ctx, const absl::Status& status) {
  store::AuditRecord record{clock_.Now(),  ctx.caller,     ctx.action,
                            ctx.resource,  ctx.episode_id, static_cast<int>(status.code()),
                            ctx.request_id};
  // A failed audit of a refused call cannot be reported to anyone better than the caller's
  // error, which is already being returned.
  store_.Audit(record).IgnoreError();
}

void CollabService::AuditRefusal(const std::string& actor, const std::string& action,
                                 const absl::Status& status) {
  AuditOutcome(Context{actor.empty() ? "anonymous" : actor, action, "", "", ""}, status);
}

template <typename Record>
absl::StatusOr<Record> CollabService::Read(Context& ctx, absl::StatusOr<Record> result) {
  store::AuditRecord record{clock_.Now(),
                            ctx.caller,
                            ctx.action,
                            ctx.resource,
                            ctx.episode_id,
                            static_cast<int>(result.status().code()),
                            ""};
  if (options_.read_audit == Options::ReadAudit::kQueued) {
    store_.AuditLater(record);
    return result;
  }
  absl::Status audited = store_.Audit(record);
  // Nothing is disclosed unless the disclosure is on record.
  if (!audited.ok() && result.ok()) return absl::UnavailableError("audit log unavailable");
  return result;
}

template <typename Record, typename Fn>
absl::StatusOr<Record> CollabService::Mutate(Context& ctx, const google::protobuf::Message& request,
                                             const std::string& request_id,
                                             const std::string& existing, Fn&& fn) {
  ctx.request_id = request_id;
  if (absl::Status s = domain::ValidateRequestId(request_id, "request_id"); !s.ok()) {
    AuditOutcome(ctx, s);
    return s;
  }
  std::string key, fingerprint;
  auto replay = [&]() -> absl::StatusOr<std::optional<Record>> {
    ASSIGN_OR_RETURN(std::optional<store::StoredResponse> found, store_.FindResponse(key));
    if (!found) return std::nullopt;
    if (found->fingerprint != fingerprint) {
      return domain::FieldError("request_id", "was already used for a different request");
    }
    ASSIGN_OR_RETURN(Record record, Parse<Record>(found->response));
    return std::optional<Record>(std::move(record));
  };
  // A retry is recognised when its change is refused (the store keeps request keys unique and
  // checks them first) or when the use case fails because the first attempt already changed
  // things (a stale etag, a signed review): either way the first result is replayed. So the
  // common case, a new request, costs no extra read.
  if (!request_id.empty()) {
    key = absl::StrCat(ctx.caller, "\n", request_id);
    fingerprint = Sha256Hex(absl::StrCat(ctx.action, "\n", DeterministicBytes(request)));
  }
  auto replay_or = [&](const absl::Status& status) -> absl::StatusOr<Record> {
    if (!key.empty()) {
      absl::StatusOr<std::optional<Record>> replayed = replay();
      if (!replayed.ok()) {
        AuditOutcome(ctx, replayed.status());
        return replayed.status();
      }
      if (*replayed) return **replayed;
    }
    AuditOutcome(ctx, status);
    return status;
  };

  std::unique_lock<std::mutex> record_lock;
  if (!existing.empty()) {
    record_lock = std::unique_lock<std::mutex>(
        write_locks_[std::hash<std::string>{}(existing) % kWriteLockStripes]);
  }
  absl::Status last;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    absl::StatusOr<Change<Record>> change = fn();
    if (!change.ok()) return replay_or(change.status());
    Record& record = change->record;
    const absl::Time now = clock_.Now();
    v1::RecordMeta* meta = record.mutable_meta();
    const int64_t revision = meta->revision() + 1;
    meta->set_revision(revision);
    meta->set_etag(Etag(revision));
    if (revision == 1) {
      domain::ToTimestamp(now, meta->mutable_create_time());
      meta->set_created_by(ctx.caller);
    }
    domain::ToTimestamp(now, meta->mutable_update_time());
    meta->set_updated_by(ctx.caller);
    ctx.resource = record.name();
    ctx.episode_id = change->episode_id;

    store::Mutation m;
    m.record = {record.name(), change->episode_id,        change->kind, revision, now,
                ctx.caller,    record.SerializeAsString()};
    m.event_kind = change->event;
    m.participants = change->participants;
    m.audit = {now, ctx.caller, ctx.action, record.name(), change->episode_id, 0, request_id};
    m.request_key = key;
    m.response = {fingerprint, m.record.data};
    absl::StatusOr<store::CommitResult> committed = store_.Commit(m);
    if (committed.ok()) {
      hub_.Publish(change->episode_id, committed->sequence);
      return std::move(record);
    }
    last = committed.status();
    if (absl::IsAborted(last) && !change->conditional) continue;  // lost a race: re-read
    // The request was already written (a retry, or the same request racing): its result.
    if (absl::IsAlreadyExists(last) && !key.empty()) return replay_or(last);
    break;
  }
  if (absl::IsAborted(last)) {
    last = absl::AbortedError("the record changed while it was being written; read it again");
  }
  AuditOutcome(ctx, last);
  return last;
}

absl::StatusOr<v1::Episode> CollabService::LoadEpisodeFor(const std::string& caller,
                                                          const std::string& episode_id) {
  absl::StatusOr<store::RecordRevision> latest = store_.GetLatest(domain::EpisodeName(episode_id));
  if (absl::IsNotFound(latest.status())) return absl::NotFoundError("episode not found");
  if (!latest.ok()) return latest.status();
  ASSIGN_OR_RETURN(v1::Episode episode, Parse<v1::Episode>(latest->data));
  RETURN_IF_ERROR(domain::RequireParticipant(episode, caller));
  return episode;
}

template <typename Record>
absl::StatusOr<Record> CollabService::LoadLatest(const std::string& name) {
  absl::StatusOr<store::RecordRevision> latest = store_.GetLatest(name);
  if (absl::IsNotFound(latest.status())) return absl::NotFoundError("record not found");
  if (!latest.ok()) return latest.status();
  return Parse<Record>(latest->data);
}

template <typename Record>
absl::StatusOr<std::vector<Record>> CollabService::LoadAll(const std::string& episode_id,
                                                           RecordKind kind) {
  std::vector<Record> all;
  store::Page page{"", 500};
  while (static_cast<int>(all.size()) < kMaxRecordsPerEpisode) {
    ASSIGN_OR_RETURN(std::vector<store::RecordRevision> batch,
                     store_.ListLatest(episode_id, kind, page));
    for (const store::RecordRevision& rev : batch) {
      ASSIGN_OR_RETURN(Record record, Parse<Record>(rev.data));
      all.push_back(std::move(record));
    }
    if (static_cast<int>(batch.size()) < page.limit) break;
    page.after = batch.back().name;
  }
  return all;
}

absl::StatusOr<int> CollabService::PageSize(int requested) const {
  if (requested < 0 || requested > options_.max_page_size) {
    return domain::FieldError("page_size",
                              absl::StrCat("must be between 0 and ", options_.max_page_size));
  }
  return requested == 0 ? options_.default_page_size : requested;
}

template <typename Record, typename Visible>
absl::StatusOr<std::pair<std::vector<Record>, std::string>> CollabService::ListVisible(
    const std::string& episode_id, RecordKind kind, int page_size, const std::string& page_token,
    Visible&& visible) {
  ASSIGN_OR_RETURN(int size, PageSize(page_size));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token));
  std::vector<Record> out;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<store::RecordRevision> batch,
                     store_.ListLatest(episode_id, kind, store::Page{after, size}));
    for (size_t i = 0; i < batch.size(); ++i) {
      ASSIGN_OR_RETURN(Record record, Parse<Record>(batch[i].data));
      after = batch[i].name;
      if (!visible(record)) continue;
      out.push_back(std::move(record));
      if (static_cast<int>(out.size()) == size) {
        const bool more = i + 1 < batch.size() || static_cast<int>(batch.size()) == size;
        return std::make_pair(std::move(out), more ? EncodePageToken(after) : "");
      }
    }
    if (static_cast<int>(batch.size()) < size) break;
  }
  return std::make_pair(std::move(out), std::string());
}

template <typename Record>
absl::StatusOr<std::pair<std::vector<Record>, std::string>> CollabService::ListRevisionsOf(
    const std::string& name, int page_size, const std::string& page_token) {
  ASSIGN_OR_RETURN(int size, PageSize(page_size));
  ASSIGN_OR_RETURN(std::string position, DecodePageToken(page_token));
  int64_t after = 0;
  if (!position.empty() && !absl::SimpleAtoi(position, &after)) {
    return domain::FieldError("page_token", "is not a token this service returned");
  }
  ASSIGN_OR_RETURN(std::vector<store::RecordRevision> revisions,
                   store_.ListRevisions(name, after, size + 1));
  const bool more = static_cast<int>(revisions.size()) > size;
  if (more) revisions.pop_back();
  std::vector<Record> out;
  for (const store::RecordRevision& rev : revisions) {
    ASSIGN_OR_RETURN(Record record, Parse<Record>(rev.data));
    out.push_back(std::move(record));
  }
  std::string next =
      more ? EncodePageToken(absl::StrCat(revisions.back().revision)) : std::string();
  return std::make_pair(std::move(out), std::move(next));
}

// What differs between the record types of an episode.
template <typename Record>
struct RecordTraits;
template <>
struct RecordTraits<v1::Goal> {
  static constexpr char kCollection[] = "goals";
  static bool Visible(const v1::Episode& e, const v1::Goal& g, const std::string& caller) {
    return domain::CanSeeGoal(e, g, caller);
  }
};
template <>
struct RecordTraits<v1::Hypothesis> {
  static constexpr char kCollection[] = "hypotheses";
  static bool Visible(const v1::Episode& e, const v1::Hypothesis& h, const std::string& caller) {
    return domain::CanSeeHypothesis(e, h, caller);
  }
};
template <>
struct RecordTraits<v1::Review> {
  static constexpr char kCollection[] = "reviews";
  static bool Visible(const v1::Episode&, const v1::Review&, const std::string&) { return true; }
};

template <typename Record>
absl::StatusOr<CollabService::Loaded<Record>> CollabService::LoadVisible(const std::string& caller,
                                                                         const std::string& name,
                                                                         const std::string& field) {
  ASSIGN_OR_RETURN(domain::ChildName n,
                   domain::ParseChildName(name, RecordTraits<Record>::kCollection, field));
  Loaded<Record> loaded;
  loaded.episode_id = n.episode_id;
  ASSIGN_OR_RETURN(loaded.episode, LoadEpisodeFor(caller, n.episode_id));
  ASSIGN_OR_RETURN(loaded.record, LoadLatest<Record>(name));
  // A record the caller may not see does not exist for them.
  if (!RecordTraits<Record>::Visible(loaded.episode, loaded.record, caller)) {
    return absl::NotFoundError("record not found");
  }
  return loaded;
}

template <typename Record, typename Rule>
absl::StatusOr<Record> CollabService::ChangeRecord(
    Context ctx, const google::protobuf::Message& request, const std::string& request_id,
    const std::string& name, const std::string& name_field, const std::string& etag,
    const std::string& etag_field, v1::EpisodeEvent::Kind event, Rule&& rule) {
  return Mutate<Record>(ctx, request, request_id, name, [&]() -> absl::StatusOr<Change<Record>> {
    ASSIGN_OR_RETURN(Loaded<Record> loaded, LoadVisible<Record>(ctx.caller, name, name_field));
    RETURN_IF_ERROR(CheckEtag(etag, loaded.record.meta(), etag_field));
    ASSIGN_OR_RETURN(Record next, rule(loaded.episode, loaded.record));
    Change<Record> change{std::move(next), kKindOf<Record>, loaded.episode_id,
                          event,           std::nullopt,    !etag.empty()};
    return change;
  });
}

template <typename Record, typename Response>
absl::StatusOr<Response> CollabService::GetRecord(Context ctx, const std::string& name) {
  return Read<Record>(ctx, [&]() -> absl::StatusOr<Record> {
    ASSIGN_OR_RETURN(Loaded<Record> loaded, LoadVisible<Record>(ctx.caller, name, "name"));
    ctx.episode_id = loaded.episode_id;
    return std::move(loaded.record);
  }());
}

template <typename Record>
absl::StatusOr<std::pair<std::vector<Record>, std::string>> CollabService::RevisionsOf(
    Context ctx, const std::string& name, int page_size, const std::string& page_token) {
  using Page = std::pair<std::vector<Record>, std::string>;
  return Read<Page>(ctx, [&]() -> absl::StatusOr<Page> {
    ASSIGN_OR_RETURN(Loaded<Record> loaded, LoadVisible<Record>(ctx.caller, name, "name"));
    ctx.episode_id = loaded.episode_id;
    return ListRevisionsOf<Record>(name, page_size, page_token);
  }());
}

// ---------------------------------------------------------------------------------------
// EpisodeService.

absl::StatusOr<v1::Episode> CollabService::CreateEpisode(const std::string& caller,
                                                         const v1::CreateEpisodeRequest& request) {
  Context ctx{caller, absl::StrCat(kEpisodeService, "CreateEpisode"), "", "", ""};
  return Mutate<v1::Episode>(
      ctx, request, request.request_id(), "", [&]() -> absl::StatusOr<Change<v1::Episode>> {
        ASSIGN_OR_RETURN(v1::Episode episode, domain::NewEpisode(caller, request.episode()));
        const std::string id = ids_.NewId();
        episode.set_name(domain::EpisodeName(id));
        Change<v1::Episode> change{episode, RecordKind::kEpisode, id,
                                   v1::EpisodeEvent::EPISODE_CREATED, PeopleOf(episode)};
        return change;
      });
}

absl::StatusOr<v1::Episode> CollabService::GetEpisode(const std::string& caller,
                                                      const v1::GetEpisodeRequest& request) {
  Context ctx{caller, absl::StrCat(kEpisodeService, "GetEpisode"), request.name(), "", ""};
  return Read<v1::Episode>(ctx, [&]() -> absl::StatusOr<v1::Episode> {
    ASSIGN_OR_RETURN(ctx.episode_id, domain::ParseEpisodeName(request.name(), "name"));
    return LoadEpisodeFor(caller, ctx.episode_id);
  }());
}

absl::StatusOr<v1::ListEpisodesResponse> CollabService::ListEpisodes(
    const std::string& caller, const v1::ListEpisodesRequest& request) {
  Context ctx{caller, absl::StrCat(kEpisodeService, "ListEpisodes"), "", "", ""};
  return Read<v1::ListEpisodesResponse>(ctx, [&]() -> absl::StatusOr<v1::ListEpisodesResponse> {
    ASSIGN_OR_RETURN(int size, PageSize(request.page_size()));
    ASSIGN_OR_RETURN(std::string after, DecodePageToken(request.page_token()));
    ASSIGN_OR_RETURN(std::vector<store::RecordRevision> batch,
                     store_.ListEpisodesOf(caller, store::Page{after, size + 1}));
    v1::ListEpisodesResponse response;
    const bool more = static_cast<int>(batch.size()) > size;
    if (more) batch.pop_back();
    for (const store::RecordRevision& rev : batch) {
      ASSIGN_OR_RETURN(*response.add_episodes(), Parse<v1::Episode>(rev.data));
    }
    if (more) response.set_next_page_token(EncodePageToken(batch.back().name));
    return response;
  }());
}

absl::StatusOr<v1::Episode> CollabService::UpdateEpisode(const std::string& caller,
                                                         const v1::UpdateEpisodeRequest& request) {
  Context ctx{caller, absl::StrCat(kEpisodeService, "UpdateEpisode"), request.episode().name(), "",
              ""};
  return Mutate<v1::Episode>(
      ctx, request, request.request_id(), request.episode().name(),
      [&]() -> absl::StatusOr<Change<v1::Episode>> {
        ASSIGN_OR_RETURN(std::string id,
                         domain::ParseEpisodeName(request.episode().name(), "episode.name"));
        ASSIGN_OR_RETURN(v1::Episode current, LoadEpisodeFor(caller, id));
        const std::string& etag = request.episode().meta().etag();
        RETURN_IF_ERROR(CheckEtag(etag, current.meta(), "episode.meta.etag"));
        ASSIGN_OR_RETURN(v1::Episode next, domain::UpdateEpisode(caller, current, request.episode(),
                                                                 MaskPaths(request.update_mask())));
        Change<v1::Episode> change{
            next,           RecordKind::kEpisode, id, v1::EpisodeEvent::EPISODE_UPDATED,
            PeopleOf(next), !etag.empty()};
        return change;
      });
}

absl::StatusOr<v1::ListEpisodeRevisionsResponse> CollabService::ListEpisodeRevisions(
    const std::string& caller, const v1::ListEpisodeRevisionsRequest& request) {
  Context ctx{caller, absl::StrCat(kEpisodeService, "ListEpisodeRevisions"), request.name(), "",
              ""};
  return Read<v1::ListEpisodeRevisionsResponse>(
      ctx, [&]() -> absl::StatusOr<v1::ListEpisodeRevisionsResponse> {
        ASSIGN_OR_RETURN(ctx.episode_id, domain::ParseEpisodeName(request.name(), "name"));
        RETURN_IF_ERROR(LoadEpisodeFor(caller, ctx.episode_id).status());
        ASSIGN_OR_RETURN(auto page, ListRevisionsOf<v1::Episode>(
                                        request.name(), request.page_size(), request.page_token()));
        v1::ListEpisodeRevisionsResponse response;
        for (v1::Episode& e : page.first) *response.add_episodes() = std::move(e);
        response.set_next_page_token(page.second);
        return response;
      }());
}

absl::StatusOr<std::string> CollabService::StartWatch(const std::string& caller,
                                                      const v1::WatchEpisodeRequest& request) {
  Context ctx{caller, absl::StrCat(kEpisodeService, "WatchEpisode"), request.name(), "", ""};
  return Read<std::string>(ctx, [&]() -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(ctx.episode_id, domain::ParseEpisodeName(request.name(), "name"));
    if (request.after_sequence() < 0) {
      return domain::FieldError("after_sequence", "must not be negative");
    }
    RETURN_IF_ERROR(LoadEpisodeFor(caller, ctx.episode_id).status());
    return ctx.episode_id;
  }());
}

absl::StatusOr<EventBatch> CollabService::ReadEvents(const std::string& caller,
                                                     const std::string& episode_id,
                                                     int64_t after_sequence, int limit) {
  ASSIGN_OR_RETURN(v1::Episode episode, LoadEpisodeFor(caller, episode_id));
  ASSIGN_OR_RETURN(std::vector<store::StoredEvent> stored,
                   store_.ReadEvents(episode_id, after_sequence, limit));
  EventBatch batch;
  batch.last_sequence = after_sequence;
  for (const store::StoredEvent& e : stored) {
    batch.last_sequence = e.sequence;
    v1::EpisodeEvent event;
    switch (e.record.kind) {
      case RecordKind::kEpisode: {
        ASSIGN_OR_RETURN(*event.mutable_episode(), Parse<v1::Episode>(e.record.data));
        break;
      }
      case RecordKind::kGoal: {
        ASSIGN_OR_RETURN(*event.mutable_goal(), Parse<v1::Goal>(e.record.data));
        if (!domain::CanSeeGoal(episode, event.goal(), caller)) continue;
        break;
      }
      case RecordKind::kHypothesis: {
        ASSIGN_OR_RETURN(*event.mutable_hypothesis(), Parse<v1::Hypothesis>(e.record.data));
        if (!domain::CanSeeHypothesis(episode, event.hypothesis(), caller)) continue;
        break;
      }
      case RecordKind::kReview: {
        ASSIGN_OR_RETURN(*event.mutable_review(), Parse<v1::Review>(e.record.data));
        break;
      }
    }
    event.set_sequence(e.sequence);
    domain::ToTimestamp(e.time, event.mutable_time());
    event.set_actor(e.actor);
    event.set_kind(static_cast<v1::EpisodeEvent::Kind>(e.kind));
    event.set_name(e.record.name);
    batch.events.push_back(std::move(event));
  }
  return batch;
}

// ---------------------------------------------------------------------------------------
// GoalService.

absl::StatusOr<v1::Goal> CollabService::CreateGoal(const std::string& caller,
                                                   const v1::CreateGoalRequest& request) {
  Context ctx{caller, absl::StrCat(kGoalService, "CreateGoal"), request.parent(), "", ""};
  return Mutate<v1::Goal>(
      ctx, request, request.request_id(), "", [&]() -> absl::StatusOr<Change<v1::Goal>> {
        ASSIGN_OR_RETURN(std::string id, domain::ParseEpisodeName(request.parent(), "parent"));
        ASSIGN_OR_RETURN(v1::Episode episode, LoadEpisodeFor(caller, id));
        ASSIGN_OR_RETURN(v1::Goal goal, domain::NewGoal(episode, caller, request.goal()));
        goal.set_name(domain::ChildResourceName(id, "goals", ids_.NewId()));
        Change<v1::Goal> change{goal, RecordKind::kGoal, id, v1::EpisodeEvent::GOAL_CREATED,
                                std::nullopt};
        return change;
      });
}

absl::StatusOr<v1::Goal> CollabService::GetGoal(const std::string& caller,
                                                const v1::GetGoalRequest& request) {
  return GetRecord<v1::Goal>({caller, absl::StrCat(kGoalService, "GetGoal"), request.name()},
                             request.name());
}

absl::StatusOr<v1::ListGoalsResponse> CollabService::ListGoals(
    const std::string& caller, const v1::ListGoalsRequest& request) {
  Context ctx{caller, absl::StrCat(kGoalService, "ListGoals"), request.parent(), "", ""};
  return Read<v1::ListGoalsResponse>(ctx, [&]() -> absl::StatusOr<v1::ListGoalsResponse> {
    ASSIGN_OR_RETURN(ctx.episode_id, domain::ParseEpisodeName(request.parent(), "parent"));
    ASSIGN_OR_RETURN(v1::Episode episode, LoadEpisodeFor(caller, ctx.episode_id));
    ASSIGN_OR_RETURN(
        auto page, ListVisible<v1::Goal>(
                       ctx.episode_id, RecordKind::kGoal, request.page_size(), request.page_token(),
                       [&](const v1::Goal& g) { return domain::CanSeeGoal(episode, g, caller); }));
    v1::ListGoalsResponse response;
    for (v1::Goal& g : page.first) *response.add_goals() = std::move(g);
    response.set_next_page_token(page.second);
    return response;
  }());
}

absl::StatusOr<v1::Goal> CollabService::UpdateGoal(const std::string& caller,
                                                   const v1::UpdateGoalRequest& request) {
  const v1::Goal& patch = request.goal();
  return ChangeRecord<v1::Goal>(
      {caller, absl::StrCat(kGoalService, "UpdateGoal"), patch.name()}, request,
      request.request_id(), patch.name(), "goal.name", patch.meta().etag(), "goal.meta.etag",
      v1::EpisodeEvent::GOAL_UPDATED, [&](const v1::Episode& episode, const v1::Goal& current) {
        return domain::UpdateGoal(episode, caller, current, patch,
                                  MaskPaths(request.update_mask()));
      });
}

absl::StatusOr<v1::Goal> CollabService::RestateGoal(const std::string& caller,
                                                    const v1::RestateGoalRequest& request) {
  return ChangeRecord<v1::Goal>(
      {caller, absl::StrCat(kGoalService, "RestateGoal"), request.name()}, request,
      request.request_id(), request.name(), "name", request.etag(), "etag",
      v1::EpisodeEvent::GOAL_RESTATED, [&](const v1::Episode& episode, const v1::Goal& current) {
        return domain::RestateGoal(episode, caller, current, request.restatement(), clock_.Now());
      });
}

absl::StatusOr<v1::Goal> CollabService::ConfirmUnderstanding(
    const std::string& caller, const v1::ConfirmUnderstandingRequest& request) {
  return ChangeRecord<v1::Goal>(
      {caller, absl::StrCat(kGoalService, "ConfirmUnderstanding"), request.name()}, request,
      request.request_id(), request.name(), "name", request.etag(), "etag",
      v1::EpisodeEvent::UNDERSTANDING_ANSWERED,
      [&](const v1::Episode& episode, const v1::Goal& current) {
        return domain::ConfirmUnderstanding(episode, caller, current, request.verdict(),
                                            request.correction(), clock_.Now());
      });
}

absl::StatusOr<v1::ListGoalRevisionsResponse> CollabService::ListGoalRevisions(
    const std::string& caller, const v1::ListGoalRevisionsRequest& request) {
  ASSIGN_OR_RETURN(auto page,
                   RevisionsOf<v1::Goal>(
                       {caller, absl::StrCat(kGoalService, "ListGoalRevisions"), request.name()},
                       request.name(), request.page_size(), request.page_token()));
  v1::ListGoalRevisionsResponse response;
  for (v1::Goal& g : page.first) *response.add_goals() = std::move(g);
  response.set_next_page_token(page.second);
  return response;
}

// ---------------------------------------------------------------------------------------
// HypothesisService.

absl::StatusOr<v1::Hypothesis> CollabService::ShareHypothesis(
    const std::string& caller, const v1::ShareHypothesisRequest& request) {
  Context ctx{caller, absl::StrCat(kHypothesisService, "ShareHypothesis"), request.parent(), "",
              ""};
  return Mutate<v1::Hypothesis>(
      ctx, request, request.request_id(), "", [&]() -> absl::StatusOr<Change<v1::Hypothesis>> {
        ASSIGN_OR_RETURN(std::string id, domain::ParseEpisodeName(request.parent(), "parent"));
        ASSIGN_OR_RETURN(v1::Episode episode, LoadEpisodeFor(caller, id));
        std::set<std::string> goals;
        if (request.hypothesis().related_goals_size() > 0) {
          ASSIGN_OR_RETURN(std::vector<v1::Goal> all, LoadAll<v1::Goal>(id, RecordKind::kGoal));
          goals = GoalNames(all);
        }
        ASSIGN_OR_RETURN(v1::Hypothesis h,
                         domain::NewHypothesis(episode, caller, request.hypothesis(), goals));
        h.set_name(domain::ChildResourceName(id, "hypotheses", ids_.NewId()));
        Change<v1::Hypothesis> change{h, RecordKind::kHypothesis, id,
                                      v1::EpisodeEvent::HYPOTHESIS_SHARED, std::nullopt};
        return change;
      });
}

absl::StatusOr<v1::Hypothesis> CollabService::GetHypothesis(
    const std::string& caller, const v1::GetHypothesisRequest& request) {
  return GetRecord<v1::Hypothesis>(
      {caller, absl::StrCat(kHypothesisService, "GetHypothesis"), request.name()}, request.name());
}

absl::StatusOr<v1::ListHypothesesResponse> CollabService::ListHypotheses(
    const std::string& caller, const v1::ListHypothesesRequest& request) {
  Context ctx{caller, absl::StrCat(kHypothesisService, "ListHypotheses"), request.parent(), "", ""};
  return Read<v1::ListHypothesesResponse>(ctx, [&]() -> absl::StatusOr<v1::ListHypothesesResponse> {
    ASSIGN_OR_RETURN(ctx.episode_id, domain::ParseEpisodeName(request.parent(), "parent"));
    ASSIGN_OR_RETURN(v1::Episode episode, LoadEpisodeFor(caller, ctx.episode_id));
    ASSIGN_OR_RETURN(auto page, ListVisible<v1::Hypothesis>(
                                    ctx.episode_id, RecordKind::kHypothesis, request.page_size(),
                                    request.page_token(), [&](const v1::Hypothesis& h) {
                                      return domain::CanSeeHypothesis(episode, h, caller);
                                    }));
    v1::ListHypothesesResponse response;
    for (v1::Hypothesis& h : page.first) *response.add_hypotheses() = std::move(h);
    response.set_next_page_token(page.second);
    return response;
  }());
}

absl::StatusOr<v1::Hypothesis> CollabService::ReviseHypothesis(
    const std::string& caller, const v1::ReviseHypothesisRequest& request) {
  const v1::Hypothesis& patch = request.hypothesis();
  return ChangeRecord<v1::Hypothesis>(
      {caller, absl::StrCat(kHypothesisService, "ReviseHypothesis"), patch.name()}, request,
      request.request_id(), patch.name(), "hypothesis.name", patch.meta().etag(),
      "hypothesis.meta.etag", v1::EpisodeEvent::HYPOTHESIS_REVISED,
      [&](const v1::Episode& episode,
          const v1::Hypothesis& current) -> absl::StatusOr<v1::Hypothesis> {
        std::set<std::string> goals;
        if (patch.related_goals_size() > 0) {
          ASSIGN_OR_RETURN(std::vector<v1::Goal> all,
                           LoadAll<v1::Goal>(EpisodeIdOf(episode), RecordKind::kGoal));
          goals = GoalNames(all);
        }
        return domain::ReviseHypothesis(episode, caller, current, patch,
                                        MaskPaths(request.update_mask()), goals);
      });
}

absl::StatusOr<v1::Hypothesis> CollabService::RespondToHypothesis(
    const std::string& caller, const v1::RespondToHypothesisRequest& request) {
  return ChangeRecord<v1::Hypothesis>(
      {caller, absl::StrCat(kHypothesisService, "RespondToHypothesis"), request.name()}, request,
      request.request_id(), request.name(), "name", request.etag(), "etag",
      v1::EpisodeEvent::HYPOTHESIS_ANSWERED,
      [&](const v1::Episode& episode, const v1::Hypothesis& current) {
        return domain::RespondToHypothesis(episode, caller, current, request.stance(),
                                           request.words(), clock_.Now());
      });
}

absl::StatusOr<v1::ListHypothesisRevisionsResponse> CollabService::ListHypothesisRevisions(
    const std::string& caller, const v1::ListHypothesisRevisionsRequest& request) {
  ASSIGN_OR_RETURN(
      auto page,
      RevisionsOf<v1::Hypothesis>(
          {caller, absl::StrCat(kHypothesisService, "ListHypothesisRevisions"), request.name()},
          request.name(), request.page_size(), request.page_token()));
  v1::ListHypothesisRevisionsResponse response;
  for (v1::Hypothesis& h : page.first) *response.add_hypotheses() = std::move(h);
  response.set_next_page_token(page.second);
  return response;
}

// ---------------------------------------------------------------------------------------
// ReviewService.

absl::StatusOr<v1::Review> CollabService::StartReview(const std::string& caller,
                                                      const v1::StartReviewRequest& request) {
  Context ctx{caller, absl::StrCat(kReviewService, "StartReview"), request.parent(), "", ""};
  return Mutate<v1::Review>(
      ctx, request, request.request_id(), "", [&]() -> absl::StatusOr<Change<v1::Review>> {
        ASSIGN_OR_RETURN(std::string id, domain::ParseEpisodeName(request.parent(), "parent"));
        ASSIGN_OR_RETURN(v1::Episode episode, LoadEpisodeFor(caller, id));
        ASSIGN_OR_RETURN(std::vector<v1::Goal> goals, LoadAll<v1::Goal>(id, RecordKind::kGoal));
        ASSIGN_OR_RETURN(v1::Review review,
                         domain::NewReview(episode, caller, request.review(), goals));
        review.set_name(domain::ChildResourceName(id, "reviews", ids_.NewId()));
        review.set_content_sha256(domain::ContentSha256(review));
        Change<v1::Review> change{review, RecordKind::kReview, id, v1::EpisodeEvent::REVIEW_STARTED,
                                  std::nullopt};
        return change;
      });
}

absl::StatusOr<v1::Review> CollabService::GetReview(const std::string& caller,
                                                    const v1::GetReviewRequest& request) {
  return GetRecord<v1::Review>({caller, absl::StrCat(kReviewService, "GetReview"), request.name()},
                               request.name());
}

absl::StatusOr<v1::ListReviewsResponse> CollabService::ListReviews(
    const std::string& caller, const v1::ListReviewsRequest& request) {
  Context ctx{caller, absl::StrCat(kReviewService, "ListReviews"), request.parent(), "", ""};
  return Read<v1::ListReviewsResponse>(ctx, [&]() -> absl::StatusOr<v1::ListReviewsResponse> {
    ASSIGN_OR_RETURN(ctx.episode_id, domain::ParseEpisodeName(request.parent(), "parent"));
    RETURN_IF_ERROR(LoadEpisodeFor(caller, ctx.episode_id).status());
    ASSIGN_OR_RETURN(auto page, ListVisible<v1::Review>(ctx.episode_id, RecordKind::kReview,
                                                        request.page_size(), request.page_token(),
                                                        [](const v1::Review&) { return true; }));
    v1::ListReviewsResponse response;
    for (v1::Review& r : page.first) *response.add_reviews() = std::move(r);
    response.set_next_page_token(page.second);
    return response;
  }());
}

absl::StatusOr<v1::Review> CollabService::SubmitRatings(const std::string& caller,
                                                        const v1::SubmitRatingsRequest& request) {
  return ChangeRecord<v1::Review>(
      {caller, absl::StrCat(kReviewService, "SubmitRatings"), request.name()}, request,
      request.request_id(), request.name(), "name", request.etag(), "etag",
      v1::EpisodeEvent::RATINGS_SUBMITTED,
      [&](const v1::Episode& episode, const v1::Review& current) {
        return domain::SubmitRatings(
            episode, caller, current, {request.ratings().begin(), request.ratings().end()},
            {request.instrument_scores().begin(), request.instrument_scores().end()},
            *options_.thresholds);
      });
}

absl::StatusOr<v1::Review> CollabService::AddReflection(const std::string& caller,
                                                        const v1::AddReflectionRequest& request) {
  return ChangeRecord<v1::Review>(
      {caller, absl::StrCat(kReviewService, "AddReflection"), request.name()}, request,
      request.request_id(), request.name(), "name", request.etag(), "etag",
      v1::EpisodeEvent::REFLECTION_ADDED,
      [&](const v1::Episode& episode, const v1::Review& current) {
        return domain::AddReflection(episode, caller, current, request.words());
      });
}

absl::StatusOr<v1::Review> CollabService::AddNextStep(const std::string& caller,
                                                      const v1::AddNextStepRequest& request) {
  return ChangeRecord<v1::Review>(
      {caller, absl::StrCat(kReviewService, "AddNextStep"), request.name()}, request,
      request.request_id(), request.name(), "name", request.etag(), "etag",
      v1::EpisodeEvent::NEXT_STEP_ADDED,
      [&](const v1::Episode& episode, const v1::Review& current) {
        return domain::AddNextStep(episode, caller, current, request.next_step());
      });
}

absl::StatusOr<v1::Review> CollabService::SignReview(const std::string& caller,
                                                     const v1::SignReviewRequest& request) {
  if (request.etag().empty()) {
    // A signature is given to content the signer has seen, named by its etag.
    absl::Status s = domain::FieldError("etag", "is required: sign the revision you read");
    AuditOutcome(Context{caller, absl::StrCat(kReviewService, "SignReview"), request.name(), "",
                         request.request_id()},
                 s);
    return s;
  }
  return ChangeRecord<v1::Review>(
      {caller, absl::StrCat(kReviewService, "SignReview"), request.name()}, request,
      request.request_id(), request.name(), "name", request.etag(), "etag",
      v1::EpisodeEvent::REVIEW_SIGNED, [&](const v1::Episode& episode, const v1::Review& current) {
        return domain::SignReview(episode, caller, current, request.dissent(), clock_.Now());
      });
}

absl::StatusOr<v1::Progress> CollabService::GetProgress(const std::string& caller,
                                                        const v1::GetProgressRequest& request) {
  Context ctx{caller, absl::StrCat(kReviewService, "GetProgress"), request.episode(), "", ""};
  return Read<v1::Progress>(ctx, [&]() -> absl::StatusOr<v1::Progress> {
    ASSIGN_OR_RETURN(ctx.episode_id, domain::ParseEpisodeName(request.episode(), "episode"));
    ASSIGN_OR_RETURN(v1::Episode episode, LoadEpisodeFor(caller, ctx.episode_id));
    ASSIGN_OR_RETURN(std::vector<v1::Goal> goals,
                     LoadAll<v1::Goal>(ctx.episode_id, RecordKind::kGoal));
    goals.erase(
        std::remove_if(goals.begin(), goals.end(),
                       [&](const v1::Goal& g) { return !domain::CanSeeGoal(episode, g, caller); }),
        goals.end());
    ASSIGN_OR_RETURN(std::vector<v1::Review> reviews,
                     LoadAll<v1::Review>(ctx.episode_id, RecordKind::kReview));
    std::sort(reviews.begin(), reviews.end(), [](const v1::Review& a, const v1::Review& b) {
      const auto& ta = a.meta().create_time();
      const auto& tb = b.meta().create_time();
      return std::make_tuple(ta.seconds(), ta.nanos(), a.name()) <
             std::make_tuple(tb.seconds(), tb.nanos(), b.name());
    });
    v1::Progress progress = domain::ComputeProgress(episode, reviews, goals, *options_.thresholds);
    progress.set_episode(request.episode());
    return progress;
  }());
}

absl::StatusOr<v1::ListReviewRevisionsResponse> CollabService::ListReviewRevisions(
    const std::string& caller, const v1::ListReviewRevisionsRequest& request) {
  ASSIGN_OR_RETURN(
      auto page, RevisionsOf<v1::Review>(
                     {caller, absl::StrCat(kReviewService, "ListReviewRevisions"), request.name()},
                     request.name(), request.page_size(), request.page_token()));
  v1::ListReviewRevisionsResponse response;
  for (v1::Review& r : page.first) *response.add_reviews() = std::move(r);
  response.set_next_page_token(page.second);
  return response;
}

// ---- Host sync read-back: a goal's status changed in the host EHR, written as a new
// revision like every other change.

namespace {

// Not an RPC: the audit trail names the sync read-back as the action.
constexpr char kHostGoalChangeAction[] = "collabcare.v1.HostSync/RecordHostGoalChange";

}  // namespace

absl::StatusOr<v1::Goal> CollabService::RecordHostGoalChange(
    const std::string& ehr_user, const std::string& host, const std::string& goal,
    int64_t based_on_revision, v1::Goal::Status status, const std::string& request_id) {
  Context ctx{ehr_user, kHostGoalChangeAction, goal};
  // What the idempotency fingerprint covers: the same EHR version read again is the same
  // request, whatever happened in collabcare since.
  v1::UpdateGoalRequest request;
  request.mutable_goal()->set_name(goal);
  request.mutable_goal()->set_status(status);
  request.mutable_goal()->mutable_meta()->set_etag(absl::StrCat("r", based_on_revision));
  request.mutable_update_mask()->add_paths("status");
  request.set_request_id(request_id);
  if (ehr_user.empty() || host.empty()) {
    absl::Status bad = domain::FieldError(ehr_user.empty() ? "ehr_user" : "host", "is required");
    AuditOutcome(ctx, bad);
    return bad;
  }
  return Mutate<v1::Goal>(
      ctx, request, request_id, goal, [&]() -> absl::StatusOr<Change<v1::Goal>> {
        ASSIGN_OR_RETURN(domain::ChildName n, domain::ParseChildName(goal, "goals", "goal"));
        // The EHR user need not be a participant to be refused with PERMISSION_DENIED: the
        // episode is read without the participant check, and nothing is disclosed to anyone.
        ASSIGN_OR_RETURN(v1::Episode episode,
                         LoadLatest<v1::Episode>(domain::EpisodeName(n.episode_id)));
        ASSIGN_OR_RETURN(v1::Goal current, LoadLatest<v1::Goal>(goal));
        ASSIGN_OR_RETURN(v1::Goal next, domain::HostGoalStatusChange(episode, ehr_user, current,
                                                                     based_on_revision, status));
        // Conditional: losing a race to a local change is ABORTED (a conflict), not retried.
        return Change<v1::Goal>{std::move(next), store::RecordKind::kGoal,
                                n.episode_id,    v1::EpisodeEvent::GOAL_UPDATED,
                                std::nullopt,    true};
      });
}

}  // namespace collabcare::service
