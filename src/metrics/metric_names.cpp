#include "metrics/metric_names.h"

#include <algorithm>
#include <vector>

namespace ouroboros::metrics {

namespace {
bool is_lower_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || c == '_';
}
bool is_letter_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string describe(const prometheus::ClientMetric& metric) {
  std::string out = "{";
  for (const auto& label : metric.label) {
    if (out.size() > 1) out += ",";
    out += label.name + "=\"" + label.value + "\"";
  }
  return out + "}";
}
}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty() || !is_lower_or_underscore(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_lower_or_underscore(c) || is_digit(c); });
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || !is_letter_or_underscore(name.front())) return false;
  if (name.substr(0, 2) == "__") return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_letter_or_underscore(c) || is_digit(c); });
}

bool is_valid_counter_name(std::string_view name) {
  return is_valid_metric_name(name) && ends_with(name, "_total") && name != "_total";
}

std::string validate_family(const prometheus::MetricFamily& family) {
  const std::string& name = family.name;
  const std::string where = "metric family '" + name + "': ";
  if (!is_valid_metric_name(name)) return where + "invalid name (snake_case [a-z_][a-z0-9_]*)";
  if (family.help.empty()) return where + "help text is empty";
  switch (family.type) {
    case prometheus::MetricType::Counter:
      if (!is_valid_counter_name(name)) return where + "a counter name must end in _total";
      break;
    case prometheus::MetricType::Gauge:
      if (ends_with(name, "_total")) return where + "only counters end in _total";
      break;
    case prometheus::MetricType::Histogram:
      if (ends_with(name, "_total") || ends_with(name, "_bucket") || ends_with(name, "_sum") ||
          ends_with(name, "_count"))
        return where + "a histogram name must not end in _total, _bucket, _sum or _count";
      break;
    default:
      return where + "only counters, gauges and histograms are built here";
  }
  std::vector<std::vector<prometheus::ClientMetric::Label>> seen;
  for (const auto& metric : family.metric) {
    auto labels = metric.label;
    std::sort(labels.begin(), labels.end());
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::string& label = labels[i].name;
      if (!is_valid_label_name(label)) return where + "invalid label name '" + label + "'";
      if (label == "le" && family.type == prometheus::MetricType::Histogram)
        return where + "a histogram cannot have a label named le";
      if (i > 0 && labels[i - 1].name == label)
        return where + "label '" + label + "' repeated in " + describe(metric);
    }
    if (std::find(seen.begin(), seen.end(), labels) != seen.end())
      return where + "two metrics with labels " + describe(metric);
    seen.push_back(std::move(labels));
  }
  return "";
}

}  // namespace ouroboros::metrics
