// The metrics registry and its Prometheus text rendering (see metrics.h).
#include "plugin/common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "plugin/common/log.h"

namespace collabcare {
namespace {

bool ValidName(const std::string& name, bool colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// HELP text: backslash and newline (exposition format 0.0.4).
std::string EscapeHelp(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Label values: backslash, double quote and newline.
std::string EscapeLabel(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// {a="x",b="y"} (empty when there are no labels), with `extra` (e.g. le) last.
std::string LabelText(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra_name = "", const std::string& extra_value = "") {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "{" : ",", names[i], "=\"", EscapeLabel(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, out.empty() ? "{" : ",", extra_name, "=\"", EscapeLabel(extra_value),
                    "\"");
  }
  if (!out.empty()) out += "}";
  return out;
}

const char* TypeName(MetricFamily::Type type) {
  switch (type) {
    case MetricFamily::Type::kCounter:
      return "counter";
    case MetricFamily::Type::kGauge:
      return "gauge";
    case MetricFamily::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral values below 2^53 are exact as integers; print them without exponent or fraction.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double>* const buckets = new std::vector<double>{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return *buckets;
}

MetricFamily::MetricFamily(std::string name, std::string help, Type type,
                           std::vector<std::string> label_names, std::vector<double> buckets,
                           bool rendered)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)),
      rendered_(rendered) {}

MetricFamily::Series* MetricFamily::SeriesFor(const std::vector<std::string>& labels) {
  if (labels.size() != label_names_.size()) {
    if (!warned_) {
      warned_ = true;
      Log(LogLevel::kError, "metrics_bad_labels", {{"metric", name_}});
    }
    return nullptr;
  }
  auto [it, inserted] = series_.try_emplace(labels);
  if (inserted && type_ == Type::kHistogram) it->second.counts.assign(buckets_.size() + 1, 0);
  return &it->second;
}

void MetricFamily::Add(const std::vector<std::string>& labels, double by) {
  if (type_ != Type::kCounter || !(by >= 0)) return;
  absl::MutexLock lock(&mu_);
  if (Series* s = SeriesFor(labels); s != nullptr) s->value += by;
}

void MetricFamily::Set(const std::vector<std::string>& labels, double value) {
  if (type_ != Type::kGauge) return;
  absl::MutexLock lock(&mu_);
  if (Series* s = SeriesFor(labels); s != nullptr) s->value = value;
}

void MetricFamily::Observe(const std::vector<std::string>& labels, double value) {
  if (type_ != Type::kHistogram || std::isnan(value)) return;
  absl::MutexLock lock(&mu_);
  Series* s = SeriesFor(labels);
  if (s == nullptr) return;
  // The first bucket whose upper bound holds the value (le is inclusive); +Inf otherwise.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(buckets_.begin(), buckets_.end(), value) - buckets_.begin());
  ++s->counts[bucket];
  s->sum += value;
  ++s->count;
}

double MetricFamily::Value(const std::vector<std::string>& labels) const {
  absl::MutexLock lock(&mu_);
  auto it = series_.find(labels);
  if (it == series_.end()) return 0;
  return type_ == Type::kHistogram ? static_cast<double>(it->second.count) : it->second.value;
}

void MetricFamily::Render(std::string* out) const {
  absl::StrAppend(out, "# HELP ", name_, " ", EscapeHelp(help_), "\n");
  absl::StrAppend(out, "# TYPE ", name_, " ", TypeName(type_), "\n");
  absl::MutexLock lock(&mu_);
  for (const auto& [labels, s] : series_) {
    if (type_ != Type::kHistogram) {
      absl::StrAppend(out, name_, LabelText(label_names_, labels), " ", FormatMetricValue(s.value),
                      "\n");
      continue;
    }
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= buckets_.size(); ++i) {
      cumulative += s.counts[i];
      const std::string le = i < buckets_.size() ? FormatMetricValue(buckets_[i]) : "+Inf";
      absl::StrAppend(out, name_, "_bucket", LabelText(label_names_, labels, "le", le), " ",
                      cumulative, "\n");
    }
    absl::StrAppend(out, name_, "_sum", LabelText(label_names_, labels), " ",
                    FormatMetricValue(s.sum), "\n");
    absl::StrAppend(out, name_, "_count", LabelText(label_names_, labels), " ", s.count, "\n");
  }
}

MetricFamily& MetricsRegistry::Counter(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names) {
  return Register(name, help, MetricFamily::Type::kCounter, std::move(label_names), {});
}

MetricFamily& MetricsRegistry::Gauge(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names) {
  return Register(name, help, MetricFamily::Type::kGauge, std::move(label_names), {});
}

MetricFamily& MetricsRegistry::Histogram(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> buckets) {
  return Register(name, help, MetricFamily::Type::kHistogram, std::move(label_names),
                  std::move(buckets));
}

MetricFamily& MetricsRegistry::Register(const std::string& name, const std::string& help,
                                        MetricFamily::Type type,
                                        std::vector<std::string> label_names,
                                        std::vector<double> buckets) {
  bool valid = ValidName(name, /*colon=*/true);
  for (const std::string& label : label_names) {
    valid = valid && ValidName(label, /*colon=*/false) && label.rfind("__", 0) != 0 &&
            !(type == MetricFamily::Type::kHistogram && label == "le");
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    valid = valid && std::isfinite(buckets[i]) && (i == 0 || buckets[i] > buckets[i - 1]);
  }
  absl::MutexLock lock(&mu_);
  if (valid) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      auto family = std::unique_ptr<MetricFamily>(new MetricFamily(
          name, help, type, std::move(label_names), std::move(buckets), /*rendered=*/true));
      return *families_.emplace(name, std::move(family)).first->second;
    }
    MetricFamily& existing = *it->second;
    if (existing.type_ == type && existing.label_names_ == label_names &&
        (type != MetricFamily::Type::kHistogram || existing.buckets_ == buckets)) {
      return existing;
    }
  }
  Log(LogLevel::kError, "metrics_bad_family", {{"metric", name}});
  refused_.push_back(std::unique_ptr<MetricFamily>(new MetricFamily(
      name, help, type, std::move(label_names), std::move(buckets), /*rendered=*/false)));
  return *refused_.back();
}

std::string MetricsRegistry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) {
    if (family->rendered_) family->Render(&out);
  }
  return out;
}

}  // namespace collabcare
