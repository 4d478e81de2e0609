// The metrics registry: exact Prometheus text exposition (0.0.4), escaping, histograms,
// refused registrations and concurrent updates.
#include "plugin/common/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace collabcare {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesExactly) {
  MetricsRegistry r;
  MetricFamily& pushed = r.Counter("collabcare_sync_pushed_total", "Changes pushed.", {"host"});
  MetricFamily& lag = r.Gauge("collabcare_sync_lag", "Backlog.", {"host"});
  pushed.Add({"ehr"});
  pushed.Add({"ehr"}, 2);
  pushed.Add({"a\"b\\c\nd"});
  pushed.Add({"ehr"}, -5);  // counters never go down
  lag.Set({"ehr"}, 12);
  lag.Set({"ehr"}, 0.25);
  EXPECT_EQ(r.Render(),
            "# HELP collabcare_sync_lag Backlog.\n"
            "# TYPE collabcare_sync_lag gauge\n"
            "collabcare_sync_lag{host=\"ehr\"} 0.25\n"
            "# HELP collabcare_sync_pushed_total Changes pushed.\n"
            "# TYPE collabcare_sync_pushed_total counter\n"
            "collabcare_sync_pushed_total{host=\"a\\\"b\\\\c\\nd\"} 1\n"
            "collabcare_sync_pushed_total{host=\"ehr\"} 3\n");
  EXPECT_EQ(pushed.Value({"ehr"}), 3);
  EXPECT_EQ(pushed.Value({"other"}), 0);
}

TEST(MetricsTest, EscapesHelpAndRendersFamiliesWithoutLabelsOrSeries) {
  MetricsRegistry r;
  r.Counter("up_total", "Line one\nback\\slash \"quotes\" stay", {}).Add({});
  r.Gauge("empty", "No series yet.", {"host"});
  EXPECT_EQ(r.Render(),
            "# HELP empty No series yet.\n"
            "# TYPE empty gauge\n"
            "# HELP up_total Line one\\nback\\\\slash \"quotes\" stay\n"
            "# TYPE up_total counter\n"
            "up_total 1\n");
}

TEST(MetricsTest, HistogramsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry r;
  MetricFamily& h = r.Histogram("push_seconds", "Push time.", {"host"}, {0.1, 0.5, 1});
  h.Observe({"ehr"}, 0.05);
  h.Observe({"ehr"}, 0.1);  // le is inclusive
  h.Observe({"ehr"}, 0.7);
  h.Observe({"ehr"}, 3);
  EXPECT_EQ(r.Render(),
            "# HELP push_seconds Push time.\n"
            "# TYPE push_seconds histogram\n"
            "push_seconds_bucket{host=\"ehr\",le=\"0.1\"} 2\n"
            "push_seconds_bucket{host=\"ehr\",le=\"0.5\"} 2\n"
            "push_seconds_bucket{host=\"ehr\",le=\"1\"} 3\n"
            "push_seconds_bucket{host=\"ehr\",le=\"+Inf\"} 4\n"
            "push_seconds_sum{host=\"ehr\"} 3.85\n"
            "push_seconds_count{host=\"ehr\"} 4\n");
  EXPECT_EQ(h.Value({"ehr"}), 4);
}

TEST(MetricsTest, FormatsNumbersAsPrometheusReadsThem) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(1234567890123), "1234567890123");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(1e300), "1e+300");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsTest, BadRegistrationsAndLabelCountsAreIgnoredNotFatal) {
  MetricsRegistry r;
  MetricFamily& good = r.Counter("good_total", "Good.", {"host"});
  EXPECT_EQ(&r.Counter("good_total", "Good.", {"host"}), &good);  // same family again
  r.Gauge("good_total", "Clash.", {"host"}).Set({"x"}, 1);        // other type: not rendered
  r.Counter("bad-name", "Bad.", {}).Add({});
  r.Counter("bad_label_total", "Bad.", {"0x"}).Add({"a"});
  r.Histogram("bad_le", "Bad.", {"le"}).Observe({"a"}, 1);
  r.Histogram("bad_buckets", "Bad.", {}, {1, 1}).Observe({}, 1);
  good.Add({"too", "many"});
  good.Add({});
  EXPECT_EQ(r.Render(),
            "# HELP good_total Good.\n"
            "# TYPE good_total counter\n");
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry r;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < 10000; ++i) {
        r.Counter("n_total", "N.", {"host"}).Add({"ehr"});
        r.Histogram("h", "H.", {}).Observe({}, 0.002);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(r.Counter("n_total", "N.", {"host"}).Value({"ehr"}), 40000);
  EXPECT_EQ(r.Histogram("h", "H.", {}).Value({}), 40000);
}

}  // namespace
}  // namespace collabcare
