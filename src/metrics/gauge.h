#pragma once
// A value that goes up and down (connections open, clients waiting), integral or floating.
// Single writer, readable from any thread: see counter.h for why plain relaxed load/store is used.
#include <atomic>
#include <cstdint>
#include <type_traits>

namespace ouroboros::metrics {

template <class T>
class BasicGauge {
  static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>);
  static_assert(std::atomic<T>::is_always_lock_free);

 public:
  BasicGauge() = default;
  BasicGauge(const BasicGauge&) = delete;
  BasicGauge& operator=(const BasicGauge&) = delete;

  // Writer thread only.
  void set(T value) { value_.store(value, std::memory_order_relaxed); }
  void add(T delta) {
    value_.store(value_.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  void sub(T delta) {
    value_.store(value_.load(std::memory_order_relaxed) - delta, std::memory_order_relaxed);
  }
  // Any thread.
  T value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> value_{0};
};

using Gauge = BasicGauge<std::int64_t>;
using DoubleGauge = BasicGauge<double>;

}  // namespace ouroboros::metrics
