// Backoff: exponential delays with bounded jitter, driven by a seeded RandomSource.
#include "pool/backoff.h"

#include <doctest/doctest.h>

#include <chrono>
#include <vector>

using namespace ouroboros;
using namespace ouroboros::pool;
using namespace std::chrono_literals;

namespace {
BackoffPolicy policy(Duration initial, Duration max, double multiplier, double jitter) {
  BackoffPolicy p;
  p.initial = initial;
  p.max = max;
  p.multiplier = multiplier;
  p.jitter = jitter;
  return p;
}
}  // namespace

TEST_CASE("base_delay grows geometrically up to max") {
  Backoff b(policy(100ms, 1s, 2.0, 0.0));
  CHECK(b.base_delay(0) == 0ms);
  CHECK(b.base_delay(1) == 100ms);
  CHECK(b.base_delay(2) == 200ms);
  CHECK(b.base_delay(4) == 800ms);
  CHECK(b.base_delay(5) == 1s);
  CHECK(b.base_delay(1000) == 1s);  // no overflow for huge failure counts
}

TEST_CASE("next_delay without jitter: exact sequence, failures counted, reset") {
  RandomSource r(1);
  Backoff b(policy(100ms, 1s, 2.0, 0.0));
  CHECK(b.failures() == 0);
  CHECK(b.current() == 0ms);
  const std::vector<Duration> expected = {100ms, 200ms, 400ms, 800ms, 1s, 1s};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(b.next_delay(r) == expected[i]);
    CHECK(b.current() == expected[i]);
    CHECK(b.failures() == i + 1);
  }
  b.reset();
  CHECK(b.failures() == 0);
  CHECK(b.current() == 0ms);
  CHECK(b.next_delay(r) == 100ms);
}

TEST_CASE("jittered delays stay within [d(1-j), d(1+j)], never above max, and vary") {
  RandomSource r(12345);
  bool varied = false;
  for (int run = 0; run < 50; ++run) {
    Backoff b(policy(1000ms, 8s, 2.0, 0.2));
    Duration first{};
    for (std::size_t n = 1; n <= 6; ++n) {
      const Duration d = b.next_delay(r);
      const auto base = b.base_delay(n).count();
      CAPTURE(n);
      CHECK(d.count() >= static_cast<long long>(base * 0.8) - 1);
      CHECK(d.count() <= static_cast<long long>(base * 1.2) + 1);
      CHECK(d <= 8s);
      if (n == 1) first = d;
    }
    if (first != 1000ms) varied = true;
  }
  CHECK(varied);
}

TEST_CASE("the same seed gives the same delays") {
  RandomSource r1(99), r2(99);
  Backoff a(policy(50ms, 5s, 3.0, 0.5)), b(policy(50ms, 5s, 3.0, 0.5));
  for (int i = 0; i < 8; ++i) CHECK(a.next_delay(r1) == b.next_delay(r2));
}

TEST_CASE("degenerate policies") {
  RandomSource r(3);
  Backoff constant(policy(250ms, 10s, 1.0, 0.0));
  for (int i = 0; i < 5; ++i) CHECK(constant.next_delay(r) == 250ms);

  Backoff zero(policy(0ms, 10s, 2.0, 0.0));
  CHECK(zero.next_delay(r) >= 1ms);  // never a busy loop

  Backoff wild(policy(100ms, 1s, 2.0, 7.0));  // jitter clamped to 1: [0, 2d], capped at max
  for (int i = 0; i < 20; ++i) {
    const Duration d = wild.next_delay(r);
    CHECK(d >= 1ms);
    CHECK(d <= 1s);
  }
}
