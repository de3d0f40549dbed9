#pragma once
// Prometheus naming rules, checked where families are built and by tests over every family the
// proxy exports: snake_case names, counters end in `_total`, no reserved label names.
#include <prometheus/metric_family.h>

#include <string>
#include <string_view>

namespace ouroboros::metrics {

// [a-z_][a-z0-9_]*: the Prometheus metric-name grammar without the colon (reserved for recording
// rules) and without capitals (names are snake_case by convention).
bool is_valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]* not starting with "__" (reserved for Prometheus itself).
bool is_valid_label_name(std::string_view name);
// A valid metric name that ends in "_total".
bool is_valid_counter_name(std::string_view name);

// "" or the first problem found: an invalid family or label name, a counter name without
// `_total` (or another type with it, or a histogram named like one of its own series), empty
// help, a histogram labelled `le`, a label repeated within one metric
// or two metrics with the same labels.
std::string validate_family(const prometheus::MetricFamily& family);

}  // namespace ouroboros::metrics
