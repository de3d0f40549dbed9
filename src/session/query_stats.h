#pragma once
// Per-fingerprint aggregates (calls, errors, time, rows) in bounded memory: when full, the
// fingerprint with the least total time makes room, so the expensive statements stay.
#include <chrono>
#include <functional>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ouroboros::session {

struct QueryStats {
  std::string fingerprint;
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
  std::uint64_t rows = 0;
  std::chrono::microseconds total{0};
  std::chrono::microseconds max{0};
};

class QueryStatsStore {
 public:
  explicit QueryStatsStore(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // `key` stands for the fingerprint (a hash of it): equal fingerprints, equal keys. The text is
  // copied only when the fingerprint is new.
  void record(std::uint64_t key, std::string_view fingerprint, std::chrono::microseconds elapsed, bool error,
              std::uint64_t rows);
  void record(std::string_view fingerprint, std::chrono::microseconds elapsed, bool error, std::uint64_t rows) {
    record(std::hash<std::string_view>{}(fingerprint), fingerprint, elapsed, error, rows);
  }
  // The `limit` fingerprints with the most total time, most first.
  std::vector<QueryStats> top(std::size_t limit) const;
  std::size_t size() const { return stats_.size(); }
  void set_capacity(std::size_t capacity) { capacity_ = capacity < 1 ? 1 : capacity; }

 private:
  std::size_t capacity_;
  std::unordered_map<std::uint64_t, QueryStats> stats_;
};

}  // namespace ouroboros::session
