#include "metrics/histogram.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ouroboros::metrics {

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]))
      throw std::invalid_argument("histogram bucket bounds must be finite");
    if (i > 0 && !(bounds_[i - 1] < bounds_[i]))
      throw std::invalid_argument("histogram bucket bounds must be strictly increasing");
  }
}

std::size_t Histogram::bucket_index(double seconds) const {
  // First bound >= seconds: bounds are inclusive upper limits, like Prometheus `le`. Searched
  // from the lowest bound: latencies of a pooled query sit in the first few buckets, so this
  // stops after a few comparisons where a binary search always takes about five.
  const std::size_t n = bounds_.size();
  std::size_t i = 0;
  while (i < n && bounds_[i] < seconds) ++i;
  return i;
}

std::uint64_t Histogram::count() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) total += bucket_count(i);
  return total;
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot snap;
  snap.bounds = bounds_;
  snap.buckets.reserve(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    snap.buckets.push_back(bucket_count(i));
    snap.count += snap.buckets.back();
  }
  snap.sum = sum();
  return snap;
}

}  // namespace ouroboros::metrics
