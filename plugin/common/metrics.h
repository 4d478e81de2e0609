// Process metrics: a small registry of labelled counters, gauges and histograms, rendered in
// the Prometheus text exposition format 0.0.4 for `GET /metrics`.
#ifndef COLLABCARE_PLUGIN_COMMON_METRICS_H_
#define COLLABCARE_PLUGIN_COMMON_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace collabcare {

// One metric family: a name, its help text and label names, and one series per distinct list
// of label values. Obtained from MetricsRegistry, which owns it; thread-safe.
//
// Label values are given in the order of the family's label names; a call with the wrong
// number of values is ignored (and logged once per family as "metrics_bad_labels"), so a
// mistake in instrumentation never takes the caller down. Values must not be clinical text or
// people's names: they are served to anyone who can reach /metrics.
class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // Counters: adds `by` (negative values are ignored: counters only go up).
  void Add(const std::vector<std::string>& labels, double by = 1);
  // Gauges: sets the value.
  void Set(const std::vector<std::string>& labels, double value);
  // Histograms: counts `value` into its bucket, the sum and the count.
  void Observe(const std::vector<std::string>& labels, double value);

  // The current value of a counter or gauge series (0 if it has none yet); for a histogram,
  // its count. For tests and status pages.
  double Value(const std::vector<std::string>& labels) const;

  Type type() const { return type_; }
  const std::string& name() const { return name_; }

 private:
  friend class MetricsRegistry;
  struct Series {
    double value = 0;              // counter, gauge
    std::vector<uint64_t> counts;  // histogram: per bucket (not cumulative), +Inf last
    double sum = 0;
    uint64_t count = 0;
  };

  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> label_names,
               std::vector<double> buckets, bool rendered);
  // The series for `labels`, created on first use; nullptr for a wrong number of values.
  Series* SeriesFor(const std::vector<std::string>& labels) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Render(std::string* out) const;

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> label_names_;
  const std::vector<double> buckets_;  // histogram upper bounds, increasing, without +Inf
  const bool rendered_;                // false for a family refused at registration
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, Series> series_ ABSL_GUARDED_BY(mu_);
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

// Seconds, from 1 ms to 60 s: the default histogram buckets, for HTTP round trips to a host.
const std::vector<double>& DefaultLatencyBuckets();

// Owns metric families and renders them. Thread-safe.
//
// Registering the same name again returns the same family when type and label names match.
// A name that is not a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), a label name
// that is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with "__", or is "le" on a histogram), a
// histogram with buckets that do not increase, or a second registration that disagrees with the
// first, gives a family that accepts values but is never rendered, and logs
// "metrics_bad_family" with the name: instrumentation mistakes cost a metric, not the server.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  MetricFamily& Counter(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names);
  MetricFamily& Gauge(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names);
  MetricFamily& Histogram(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names,
                          std::vector<double> buckets = DefaultLatencyBuckets());

  // Every rendered family in name order, each as `# HELP`, `# TYPE` and one line per series
  // (series in label order; histograms as _bucket{le=…} cumulative with +Inf, _sum, _count).
  // Help text escapes \ and newline; label values escape \, " and newline. Families without
  // series are rendered with their HELP and TYPE lines only.
  std::string Render() const;

  // The Content-Type to serve Render() with.
  static constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

 private:
  MetricFamily& Register(const std::string& name, const std::string& help, MetricFamily::Type type,
                         std::vector<std::string> label_names, std::vector<double> buckets);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<MetricFamily>> refused_ ABSL_GUARDED_BY(mu_);
};

// A number as Prometheus writes it: integers without a fraction, others in the shortest form
// that reads back exactly, and +Inf, -Inf, NaN.
std::string FormatMetricValue(double value);

}  // namespace collabcare

#endif  // COLLABCARE_PLUGIN_COMMON_METRICS_H_
