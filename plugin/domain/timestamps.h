// Conversions between absl::Time and google.protobuf.Timestamp (microsecond precision, the
// precision the store keeps).
#ifndef COLLABCARE_PLUGIN_DOMAIN_TIMESTAMPS_H_
#define COLLABCARE_PLUGIN_DOMAIN_TIMESTAMPS_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace collabcare::domain {

inline void ToTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(rest * 1000));
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace collabcare::domain

#endif  // COLLABCARE_PLUGIN_DOMAIN_TIMESTAMPS_H_
