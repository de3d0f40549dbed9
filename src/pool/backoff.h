#pragma once
// Exponential backoff with jitter for reconnecting to an unreachable backend. Pure: the caller
// passes the random source, so tests check exact sequences and bounds.
#include <chrono>
#include <cstddef>

#include "common/clock.h"

namespace ouroboros::pool {

struct BackoffPolicy {
  Duration initial = std::chrono::milliseconds(100);
  Duration max = std::chrono::seconds(10);
  double multiplier = 2.0;  // >= 1
  double jitter = 0.2;      // 0..1: a delay d is drawn uniformly from [d(1-j), d(1+j)], capped at max
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}) : policy_(policy) {}

  // Records a failure and returns how long to wait before the next attempt.
  Duration next_delay(RandomSource& random);
  void reset() { failures_ = 0; current_ = Duration::zero(); }
  std::size_t failures() const { return failures_; }
  // The delay chosen at the last failure (0 after a success).
  Duration current() const { return current_; }
  void set_policy(BackoffPolicy policy) { policy_ = policy; }
  const BackoffPolicy& policy() const { return policy_; }

  // The delay before jitter after `failures` failures: initial * multiplier^(failures-1), capped.
  Duration base_delay(std::size_t failures) const;

 private:
  BackoffPolicy policy_;
  std::size_t failures_ = 0;
  Duration current_{0};
};

}  // namespace ouroboros::pool
