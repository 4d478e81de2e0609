// Where the sync worker delivers collabcare's changes: one host EHR connection per profile
// (DESIGN.md "Host EHRs"): NDJSON files, a FHIR R4 server taking transaction bundles, or an EHR
// that accepts only single writes of notes and Conditions (epic, oracle-health).
#ifndef COLLABCARE_ADAPTERS_HOST_SYNC_HOST_SINK_H_
#define COLLABCARE_ADAPTERS_HOST_SYNC_HOST_SINK_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "adapters/fhir/canonical.h"
#include "adapters/fhir/mapping.h"
#include "adapters/host/fhir_client.h"
#include "nlohmann/json.hpp"
#include "plugin/common/clock.h"
#include "plugin/store/store.h"

namespace collabcare::host {

// What a profile wants mapped from each record.
enum class SinkContent {
  kFull,                // every mapped resource (mapping.h's *ToFhir)
  kNotesAndConditions,  // a DocumentReference note per record + a hypothesis's Condition
  kFullAndNotes,        // the record's DocumentReference note, then every mapped resource
};

// Delivers the resources of one outbox entry to a host.
//
// Contract: Push is idempotent per entry: calling it again with the same entry and resources
// (after an error, or after a crash before the worker advanced its cursor) leaves the host as
// if it had been called once. The worker calls Push for the entries of one episode one at a
// time, in outbox order. Unless concurrent() says so, it calls Push for one entry at a time
// overall and the sink need not be thread-safe.
//
// Errors: UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED / ABORTED (and the others of
// FhirClient, with HttpStatusOf/RetryAfterOf) mean "try again later"; INVALID_ARGUMENT /
// FAILED_PRECONDITION / UNIMPLEMENTED / NOT_FOUND mean the host refuses this change as it is.
class HostSink {
 public:
  HostSink() = default;
  HostSink(const HostSink&) = delete;
  HostSink& operator=(const HostSink&) = delete;
  virtual ~HostSink() = default;

  virtual SinkContent content() const = 0;

  // Writes `resources` (all of them mapped from `entry`'s record revision).
  virtual absl::Status Push(const store::OutboxEntry& entry,
                            const std::vector<fhir::FhirResource>& resources) = 0;

  // Resources the host cannot take and that no note covers, left out of successful pushes.
  virtual int64_t skipped() const { return 0; }

  // True if Push may be called from several threads at once for entries of different episodes
  // (the worker never pushes two entries of one episode at once). Such a sink is thread-safe,
  // and the writes of different episodes touch different host resources and store keys.
  virtual bool concurrent() const { return false; }
};

// FHIR Bulk Data NDJSON files in `dir` (created if missing): one file per resource type
// (`Goal.ndjson`, …), one resource per line. Each type's lines of an entry are appended with
// one O_APPEND write and fsync'd. A journal (`.collabcare-sync`, written atomically before the
// appends) records the entry's outbox id and each file's size before it: a retry of that entry
// first truncates the files back to those sizes, and an entry below the journal's id is
// already written and skipped, so a crash at any point never duplicates a line.
// Single-process: one sink per folder. Not concurrent(): the journal covers one entry.
absl::StatusOr<std::unique_ptr<HostSink>> NewNdjsonSink(const std::string& dir);

struct FhirR4SinkOptions {
  fhir::CanonicalUrls urls;
  // Most entries per transaction Bundle: a change mapping to more is written as several
  // transactions, in mapping order (each one idempotent, so a retry after a partial write
  // converges). 8 is Medplum's limit for transactions with conditional entries
  // (maxSerializableTransactionEntries), the strictest known.
  size_t max_bundle_entries = 8;
};

// Profile fhir-r4: the change's resources as transaction Bundles (fhir/bundle.h: conditional
// PUT by business identifier, Provenance/AuditEvent created once by tag). `client` is not
// owned and must outlive the sink. concurrent() when `client` is thread-safe (FhirClient over
// the curl transport and the SMART token source is): every resource of an episode's records
// has a key under the episode's name, so pushes of different episodes write different
// resources.
std::unique_ptr<HostSink> NewFhirR4Sink(FhirR4SinkOptions options, FhirClient* client);

struct SingleWriteSinkOptions {
  fhir::CanonicalUrls urls;
  std::string host = "ehr";  // the store's name for this host (RemoteRef.host)
  // The types written; others are dropped (the profile's mapping yields only these).
  std::vector<std::string> types = {"DocumentReference", "Condition"};
};

// Profiles epic and oracle-health: one plain create or update at a time, no bundles, no
// conditional create. The host's id and version of each resource are kept in the store
// (RemoteRef by key). A resource with a ref is updated with If-Match of its version (on 412
// the ref's version is refreshed from the host and ABORTED returned, so the retry overwrites
// with collabcare's revision). Without one, a pending ref (empty remote_id) is stored before
// the create; finding a pending ref on retry means a create may have happened, so the host is
// searched by identifier first. None of the pointers is owned. concurrent() like the fhir-r4
// sink: the refs of different episodes have different keys, and the store is thread-safe.
std::unique_ptr<HostSink> NewSingleWriteSink(SingleWriteSinkOptions options, FhirClient* client,
                                             store::Store* store, const Clock* clock);

// The resource types collabcare's records map to in full (mapping.h's *ToFhir, not notes).
const std::vector<std::string>& FullMappingTypes();

// What profile auto chose for one host, from its CapabilityStatement.
struct AutoPlan {
  // transaction is supported and every FullMappingTypes() type can be created and updated:
  // the fhir-r4 sink for everything.
  bool transactions = false;
  // Otherwise: the types written one at a time (create + If-Match update, like epic) ...
  std::vector<std::string> single_types;
  // ... and whether a record with any other type gets a DocumentReference note instead
  // (DocumentReference can be created and updated); if not, those resources are skipped.
  bool notes = false;
};

// Reads a CapabilityStatement (rest[mode=server]: interaction "transaction"; resource[].
// interaction "create" and "update"). INVALID_ARGUMENT if it is not one.
absl::StatusOr<AutoPlan> PlanFromCapabilities(const nlohmann::json& capabilities);

// One (type, choice) pair per type: choice is "transaction", "single-write", "note" or "skip"
// (DocumentReference, the notes: "note", "skip", or "unused" with transactions).
std::vector<std::pair<std::string, std::string>> DescribePlan(const AutoPlan& plan);

struct AutoSinkOptions {
  fhir::CanonicalUrls urls;
  std::string host = "ehr";  // the store's name for this host (RemoteRef.host)
  FhirR4SinkOptions fhir_r4;
};

// Profile auto: reads `client`'s CapabilityStatement once, logs one line per type with its
// choice (event "host_auto_plan"), and returns the fhir-r4 sink if the plan says transactions,
// else a sink that maps kFullAndNotes and writes the plan's single types like the
// single-write sink, a record's note when any of its resources is of another type (and notes
// are on), and counts the rest in skipped(). Errors of Capabilities() are returned.
absl::StatusOr<std::unique_ptr<HostSink>> NewAutoSink(AutoSinkOptions options, FhirClient* client,
                                                      store::Store* store, const Clock* clock);

}  // namespace collabcare::host

#endif  // COLLABCARE_ADAPTERS_HOST_SYNC_HOST_SINK_H_
