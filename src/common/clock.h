#pragma once
// Time and randomness behind interfaces so pool logic (timeouts, backoff jitter) is tested with
// a fake clock and a seeded source instead of sleeping.
#include <chrono>
#include <cstdint>
#include <random>

namespace ouroboros {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual TimePoint now() const = 0;
};

class SystemTimeSource final : public TimeSource {
 public:
  TimePoint now() const override { return Clock::now(); }
};

// Set by hand in tests.
class FakeTimeSource final : public TimeSource {
 public:
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_{};
};

// Uniform random numbers; one instance per event loop (no shared global state).
class RandomSource {
 public:
  explicit RandomSource(std::uint64_t seed) : engine_(seed) {}
  static RandomSource from_entropy();
  // Uniform in [0, 1).
  double unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(engine_()); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace ouroboros
