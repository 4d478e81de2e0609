// In-process notification of new episode events, so WatchEpisode streams wake up as soon as a
// change commits. Writers never wait on watchers: Publish only records a number and notifies.
#ifndef COLLABCARE_PLUGIN_SERVICE_EVENT_HUB_H_
#define COLLABCARE_PLUGIN_SERVICE_EVENT_HUB_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace collabcare::service {

// Thread-safe.
class EventHub {
 public:
  EventHub() = default;
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Records that `episode_id` has events up to `sequence`.
  void Publish(const std::string& episode_id, int64_t sequence);

  // Blocks until the episode has a published sequence above `after`, `timeout` passes, or
  // Shutdown is called. Returns false on shutdown. Other replicas' writes are not published
  // here, so watchers also re-read the store on every timeout.
  bool WaitBeyond(const std::string& episode_id, int64_t after, absl::Duration timeout);

  // Wakes every waiter; later waits return false at once.
  void Shutdown();

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> latest_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace collabcare::service

#endif  // COLLABCARE_PLUGIN_SERVICE_EVENT_HUB_H_
