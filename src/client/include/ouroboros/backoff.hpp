// Exponential backoff with jitter, and the retry loop used for transactions.
// Sleeping and randomness are injectable, so the schedule is testable without waiting.
#pragma once

#include <chrono>
#include <functional>
#include <type_traits>
#include <utility>

#include "ouroboros/errors.hpp"

namespace ouroboros {

using SleepFunction = std::function<void(std::chrono::milliseconds)>;
using RandomFunction = std::function<double()>;  // uniform in [0, 1)

// The delay before retry number n (n = 1 is the first retry) is
//   base(n)  = min(max, initial * 2^(n-1))
//   delay(n) = base(n) * (1 - jitter * random()),
// so jitter 0 gives exact doubling and jitter 1 spreads each delay over [0, base(n)].
struct Backoff {
  int attempts = 5;  // total tries, the first one included
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
  double jitter = 0.5;  // in [0, 1]

  std::chrono::milliseconds delay(int retry, double random_unit) const;
  void validate() const;  // UsageError on attempts < 1, negative delays, max < initial, bad jitter
};

// Re-running a transaction after a deadlock (40P01) or serialization failure (40001).
struct RetryPolicy {
  int max_attempts = 5;  // total runs of the function, the first one included
  std::chrono::milliseconds initial{20};
  std::chrono::milliseconds max{1000};
  double jitter = 0.5;
  SleepFunction sleep{};    // empty: std::this_thread::sleep_for
  RandomFunction random{};  // empty: a thread-local pseudo-random generator

  Backoff backoff() const { return Backoff{max_attempts, initial, max, jitter}; }
  static RetryPolicy never() {
    RetryPolicy policy;
    policy.max_attempts = 1;
    return policy;
  }
};

namespace detail {
void sleep_with(const SleepFunction& sleep, std::chrono::milliseconds delay);
double random_with(const RandomFunction& random);
// True for the errors a whole-transaction retry can fix: DeadlockError and SerializationError.
bool is_retryable_conflict(const DatabaseError& error) noexcept;
}  // namespace detail

// Calls attempt(n) for n = 1, 2, ... until it returns, retrying (after the backoff delay) only
// when it throws DeadlockError or SerializationError and attempts remain; anything else
// propagates at once.
template <class Attempt>
auto with_retry(const RetryPolicy& policy, Attempt&& attempt)
    -> std::invoke_result_t<Attempt&, int> {
  const Backoff backoff = policy.backoff();
  backoff.validate();
  for (int n = 1;; ++n) {
    try {
      return attempt(n);
    } catch (const DatabaseError& error) {
      if (n >= backoff.attempts || !detail::is_retryable_conflict(error)) throw;
    }
    detail::sleep_with(policy.sleep, backoff.delay(n, detail::random_with(policy.random)));
  }
}

}  // namespace ouroboros
