#include "metrics/family_builder.h"

#include <cassert>
#include <limits>

#include "metrics/metric_names.h"

namespace ouroboros::metrics {

FamilyBuilder::FamilyBuilder(prometheus::MetricType type, std::string name, std::string help) {
  family_.name = std::move(name);
  family_.help = std::move(help);
  family_.type = type;
}

prometheus::ClientMetric& FamilyBuilder::push(Labels labels,
                                              [[maybe_unused]] prometheus::MetricType expected) {
  assert(family_.type == expected && "metric added to a family of another type");
  family_.metric.emplace_back();
  family_.metric.back().label = std::move(labels);
  return family_.metric.back();
}

FamilyBuilder& FamilyBuilder::add(Labels labels, const Counter& counter) {
  push(std::move(labels), prometheus::MetricType::Counter).counter.value =
      static_cast<double>(counter.value());
  return *this;
}

FamilyBuilder& FamilyBuilder::add(Labels labels, const Gauge& gauge) {
  push(std::move(labels), prometheus::MetricType::Gauge).gauge.value =
      static_cast<double>(gauge.value());
  return *this;
}

FamilyBuilder& FamilyBuilder::add(Labels labels, const DoubleGauge& gauge) {
  push(std::move(labels), prometheus::MetricType::Gauge).gauge.value = gauge.value();
  return *this;
}

FamilyBuilder& FamilyBuilder::add(Labels labels, const Histogram& histogram) {
  return add(std::move(labels), histogram.snapshot());
}

FamilyBuilder& FamilyBuilder::add(Labels labels, const HistogramSnapshot& histogram) {
  auto& out = push(std::move(labels), prometheus::MetricType::Histogram).histogram;
  out.sample_count = histogram.count;
  out.sample_sum = histogram.sum;
  out.bucket.reserve(histogram.bounds.size() + 1);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < histogram.bounds.size(); ++i) {
    cumulative += i < histogram.buckets.size() ? histogram.buckets[i] : 0;
    out.bucket.push_back({cumulative, histogram.bounds[i]});
  }
  // The +Inf bucket holds every observation, equal to _count.
  out.bucket.push_back({histogram.count, std::numeric_limits<double>::infinity()});
  return *this;
}

FamilyBuilder& FamilyBuilder::add(const Labels& labels, const SqlstateCounters& counters) {
  for (std::size_t i = 0; i < kSqlstateClassCount; ++i) {
    auto cls = static_cast<SqlstateClass>(i);
    Labels with_class = labels;
    with_class.push_back({"sqlstate_class", std::string(sqlstate_class_label(cls))});
    add(std::move(with_class), counters.at(cls));
  }
  return *this;
}

FamilyBuilder& FamilyBuilder::add_value(Labels labels, double value) {
  if (family_.type == prometheus::MetricType::Counter) {
    push(std::move(labels), prometheus::MetricType::Counter).counter.value = value;
  } else {
    push(std::move(labels), prometheus::MetricType::Gauge).gauge.value = value;
  }
  return *this;
}

prometheus::MetricFamily FamilyBuilder::build() {
  assert(validate_family(family_).empty() && "invalid metric family (see validate_family)");
  return std::move(family_);
}

FamilyBuilder counter_family(std::string name, std::string help) {
  return FamilyBuilder(prometheus::MetricType::Counter, std::move(name), std::move(help));
}
FamilyBuilder gauge_family(std::string name, std::string help) {
  return FamilyBuilder(prometheus::MetricType::Gauge, std::move(name), std::move(help));
}
FamilyBuilder histogram_family(std::string name, std::string help) {
  return FamilyBuilder(prometheus::MetricType::Histogram, std::move(name), std::move(help));
}

}  // namespace ouroboros::metrics
