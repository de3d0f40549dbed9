#pragma once
// Turns live metrics into prometheus-cpp MetricFamily values at scrape time:
//
//   std::vector<prometheus::MetricFamily> families;
//   families.push_back(counter_family("ouroboros_client_connections_total", "Clients accepted.")
//                          .add({{"pool", "main"}}, stats.accepted)
//                          .build());
//   std::string text = render(families);
//
// Building allocates; that is fine at scrape time and never happens on the data path. Adding a
// metric of the wrong kind to a family (a Gauge to a counter family) is a programming error:
// asserted in debug builds, ignored otherwise. build() asserts validate_family() in debug builds.
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

#include "metrics/counter.h"
#include "metrics/gauge.h"
#include "metrics/histogram.h"
#include "metrics/sqlstate_class.h"

namespace ouroboros::metrics {

using Labels = std::vector<prometheus::ClientMetric::Label>;

class FamilyBuilder {
 public:
  FamilyBuilder(prometheus::MetricType type, std::string name, std::string help);

  FamilyBuilder& add(Labels labels, const Counter& counter);
  FamilyBuilder& add(Labels labels, const Gauge& gauge);
  FamilyBuilder& add(Labels labels, const DoubleGauge& gauge);
  FamilyBuilder& add(Labels labels, const Histogram& histogram);
  FamilyBuilder& add(Labels labels, const HistogramSnapshot& histogram);
  // One series per SQLSTATE class, every class included, with an extra `sqlstate_class` label.
  FamilyBuilder& add(const Labels& labels, const SqlstateCounters& counters);
  // A counter or gauge value computed at scrape time (e.g. summed over pools).
  FamilyBuilder& add_value(Labels labels, double value);

  const prometheus::MetricFamily& family() const { return family_; }
  // Moves the family out; the builder is left empty.
  prometheus::MetricFamily build();

 private:
  prometheus::ClientMetric& push(Labels labels, prometheus::MetricType expected);

  prometheus::MetricFamily family_;
};

FamilyBuilder counter_family(std::string name, std::string help);
FamilyBuilder gauge_family(std::string name, std::string help);
FamilyBuilder histogram_family(std::string name, std::string help);

}  // namespace ouroboros::metrics
