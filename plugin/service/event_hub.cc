// In-process notification of new episode events.
#include "plugin/service/event_hub.h"

namespace collabcare::service {

void EventHub::Publish(const std::string& episode_id, int64_t sequence) {
  absl::MutexLock lock(&mu_);
  int64_t& latest = latest_[episode_id];
  if (sequence > latest) latest = sequence;
}

bool EventHub::WaitBeyond(const std::string& episode_id, int64_t after, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (shutdown_) return true;
    auto it = latest_.find(episode_id);
    return it != latest_.end() && it->second > after;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return !shutdown_;
}

void EventHub::Shutdown() {
  absl::MutexLock lock(&mu_);
  shutdown_ = true;
}

}  // namespace collabcare::service
