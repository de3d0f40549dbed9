// Backoff schedule, default sleep and random sources, retry classification.
#include "ouroboros/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace ouroboros {

std::chrono::milliseconds Backoff::delay(int retry, double random_unit) const {
  if (retry < 1) return std::chrono::milliseconds(0);
  const double base = std::min(static_cast<double>(max.count()),
                               static_cast<double>(initial.count()) * std::pow(2.0, retry - 1));
  const double unit = std::clamp(random_unit, 0.0, 1.0);
  return std::chrono::milliseconds(
      static_cast<long long>(std::llround(base * (1.0 - jitter * unit))));
}

void Backoff::validate() const {
  if (attempts < 1) throw UsageError("backoff: attempts must be at least 1");
  if (initial.count() < 0 || max.count() < 0)
    throw UsageError("backoff: delays must not be negative");
  if (max < initial) throw UsageError("backoff: max must not be less than initial");
  if (!(jitter >= 0.0 && jitter <= 1.0)) throw UsageError("backoff: jitter must be within [0, 1]");
}

namespace detail {

void sleep_with(const SleepFunction& sleep, std::chrono::milliseconds delay) {
  if (sleep)
    sleep(delay);
  else
    std::this_thread::sleep_for(delay);
}

double random_with(const RandomFunction& random) {
  if (random) return random();
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

bool is_retryable_conflict(const DatabaseError& error) noexcept {
  return dynamic_cast<const DeadlockError*>(&error) != nullptr ||
         dynamic_cast<const SerializationError*>(&error) != nullptr;
}

}  // namespace detail
}  // namespace ouroboros
