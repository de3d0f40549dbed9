#pragma once
// A monotonically increasing count for the data path: no lock, no allocation, no CAS.
//
// Every metric in this module has exactly one writer, the event-loop thread that owns it, and may
// be read at any time by another thread (the scrape). Increments are therefore a relaxed load
// followed by a relaxed store instead of fetch_add: with one writer no increment can be lost, and
// the pair compiles to plain moves (no `lock` prefix, no cache-line ownership ping-pong on every
// increment). std::atomic still guarantees the reader never sees a torn value; relaxed ordering is
// enough because a scrape only needs some recent value, not one ordered with other memory.
// Two threads must never write the same instance: give each loop its own and sum at scrape time.
#include <atomic>
#include <cstdint>

namespace ouroboros::metrics {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Writer thread only.
  void inc(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Any thread.
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

}  // namespace ouroboros::metrics
