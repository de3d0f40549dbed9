#pragma once
// A latency distribution with fixed bucket bounds in seconds. observe() finds the bucket by
// searching the bounds from the lowest and bumps one count and the sum: no lock, no allocation.
// Single writer, readable from any thread: see counter.h for why plain relaxed load/store is used.
//
// A value lands in the first bucket whose bound is >= the value, matching Prometheus `le`
// ("less than or equal"); values above the last bound land in the overflow (+Inf) bucket. The
// total count is the sum of the buckets, so a scrape always sees +Inf == _count. A scrape racing
// with observe() may see a sum that is one observation ahead of or behind the buckets.
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ouroboros::metrics {

// 100 µs to 30 s: from a pooled round trip on a LAN to a long query or a connect timeout.
inline constexpr std::array<double, 17> kDefaultLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};

// Values read at one moment, for rendering.
struct HistogramSnapshot {
  std::vector<double> bounds;          // upper bounds without +Inf
  std::vector<std::uint64_t> buckets;  // per bucket, not cumulative; last one is the overflow
  double sum = 0;
  std::uint64_t count = 0;  // total of buckets
};

class Histogram {
 public:
  Histogram() : Histogram(kDefaultLatencyBounds) {}
  // Bounds must be finite and strictly increasing (std::invalid_argument otherwise).
  explicit Histogram(std::span<const double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Writer thread only. NaN is ignored (it would poison the sum forever).
  void observe(double seconds) {
    if (std::isnan(seconds)) return;
    std::atomic<std::uint64_t>& bucket = buckets_[bucket_index(seconds)];
    bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    sum_.store(sum_.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
  }
  template <class Rep, class Period>
  void observe(std::chrono::duration<Rep, Period> elapsed) {
    observe(std::chrono::duration<double>(elapsed).count());
  }

  // Any thread.
  std::span<const double> bounds() const { return bounds_; }
  // Index of the bucket `seconds` falls in; bounds().size() is the overflow bucket.
  std::size_t bucket_index(double seconds) const;
  // Observations in bucket `index` alone (not cumulative).
  std::uint64_t bucket_count(std::size_t index) const {
    return buckets_[index].load(std::memory_order_relaxed);
  }
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  HistogramSnapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

}  // namespace ouroboros::metrics
