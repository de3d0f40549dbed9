#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "metrics/counter.h"
#include "metrics/gauge.h"
#include "metrics/histogram.h"

using namespace ouroboros::metrics;

TEST_CASE("counter counts up from zero") {
  Counter c;
  CHECK(c.value() == 0);
  c.inc();
  c.inc(41);
  CHECK(c.value() == 42);
}

TEST_CASE("a counter written by one thread is read consistently by another") {
  Counter c;
  constexpr std::uint64_t kIncrements = 200000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (std::uint64_t i = 0; i < kIncrements; ++i) c.inc();
    done.store(true);
  });
  std::uint64_t last = 0;
  bool monotonic = true;
  while (!done.load()) {
    std::uint64_t now = c.value();
    monotonic = monotonic && now >= last;
    last = now;
  }
  writer.join();
  CHECK(monotonic);
  CHECK(c.value() == kIncrements);
}

TEST_CASE("gauges go up and down") {
  Gauge g;
  g.set(5);
  g.add(3);
  g.sub(10);
  CHECK(g.value() == -2);
  DoubleGauge d;
  d.set(1.5);
  d.add(0.25);
  d.sub(1.0);
  CHECK(d.value() == doctest::Approx(0.75));
}

TEST_CASE("histogram default bounds run from 100 microseconds to 30 seconds") {
  Histogram h;
  REQUIRE(h.bounds().size() == 17);
  CHECK(h.bounds().front() == 0.0001);
  CHECK(h.bounds().back() == 30);
  CHECK(h.count() == 0);
  CHECK(h.sum() == 0);
}

TEST_CASE("histogram buckets are inclusive upper bounds like Prometheus le") {
  Histogram h;
  const std::size_t overflow = h.bounds().size();
  CHECK(h.bucket_index(0.0001) == 0);  // exactly on a bound: that bucket
  CHECK(h.bucket_index(0.00010001) == 1);
  CHECK(h.bucket_index(0) == 0);
  CHECK(h.bucket_index(-1) == 0);
  CHECK(h.bucket_index(1) == 12);
  CHECK(h.bucket_index(1.0000001) == 13);
  CHECK(h.bucket_index(30) == 16);
  CHECK(h.bucket_index(30.5) == overflow);
  CHECK(h.bucket_index(std::numeric_limits<double>::infinity()) == overflow);
  for (std::size_t i = 0; i < h.bounds().size(); ++i) CHECK(h.bucket_index(h.bounds()[i]) == i);
}

TEST_CASE("histogram observe counts per bucket, sum and count") {
  const double bounds[] = {0.1, 1};
  Histogram h(bounds);
  h.observe(0.05);
  h.observe(0.1);
  h.observe(0.5);
  h.observe(7);
  h.observe(std::nan(""));  // ignored
  CHECK(h.bucket_count(0) == 2);
  CHECK(h.bucket_count(1) == 1);
  CHECK(h.bucket_count(2) == 1);
  CHECK(h.count() == 4);
  CHECK(h.sum() == doctest::Approx(7.65));

  HistogramSnapshot snap = h.snapshot();
  CHECK(snap.bounds == std::vector<double>{0.1, 1});
  CHECK(snap.buckets == std::vector<std::uint64_t>{2, 1, 1});
  CHECK(snap.count == 4);
  CHECK(snap.sum == doctest::Approx(7.65));
}

TEST_CASE("histogram observes durations in seconds") {
  Histogram h;
  h.observe(std::chrono::milliseconds(3));
  h.observe(std::chrono::microseconds(100));
  CHECK(h.bucket_count(h.bucket_index(0.005)) == 1);
  CHECK(h.bucket_count(0) == 1);
  CHECK(h.sum() == doctest::Approx(0.0031));
}

TEST_CASE("histogram bounds must be finite and strictly increasing") {
  const double unsorted[] = {1, 0.5};
  const double repeated[] = {1, 1};
  const double infinite[] = {1, std::numeric_limits<double>::infinity()};
  CHECK_THROWS_AS(Histogram{unsorted}, std::invalid_argument);
  CHECK_THROWS_AS(Histogram{repeated}, std::invalid_argument);
  CHECK_THROWS_AS(Histogram{infinite}, std::invalid_argument);
  Histogram only_overflow{std::span<const double>{}};
  only_overflow.observe(1);
  CHECK(only_overflow.count() == 1);
}
