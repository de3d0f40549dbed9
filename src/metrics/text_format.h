#pragma once
// The Prometheus text exposition format (version 0.0.4), written by prometheus-cpp.
#include <prometheus/metric_family.h>

#include <string>
#include <string_view>
#include <vector>

namespace ouroboros::metrics {

// The Content-Type of render()'s output.
inline constexpr std::string_view kTextFormatContentType =
    "text/plain; version=0.0.4; charset=utf-8";

std::string render(const std::vector<prometheus::MetricFamily>& families);

}  // namespace ouroboros::metrics
