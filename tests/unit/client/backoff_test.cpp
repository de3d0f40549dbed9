#include "ouroboros/backoff.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace ouroboros;
using std::chrono::milliseconds;

namespace {
ErrorReport report(const char* sqlstate) {
  ErrorReport r;
  r.sqlstate = sqlstate;
  r.message = "conflict";
  return r;
}
}  // namespace

TEST_CASE("backoff doubles up to the cap; jitter shortens by up to its fraction") {
  Backoff b{10, milliseconds(100), milliseconds(1000), 0.0};
  std::vector<long> delays;
  for (int n = 1; n <= 6; ++n) delays.push_back(static_cast<long>(b.delay(n, 0.7).count()));
  CHECK(delays == std::vector<long>{100, 200, 400, 800, 1000, 1000});

  b.jitter = 0.5;
  CHECK(b.delay(1, 0.0) == milliseconds(100));
  CHECK(b.delay(1, 1.0) == milliseconds(50));
  CHECK(b.delay(3, 0.5) == milliseconds(300));
  CHECK(b.delay(9, 0.5) == milliseconds(750));
  b.jitter = 1.0;
  CHECK(b.delay(2, 1.0) == milliseconds(0));
  CHECK(b.delay(40, 0.0) == milliseconds(1000));  // no overflow far out
}

TEST_CASE("backoff validation") {
  CHECK_THROWS_AS((Backoff{0}).validate(), UsageError);
  CHECK_THROWS_AS((Backoff{3, milliseconds(10), milliseconds(5)}).validate(), UsageError);
  CHECK_THROWS_AS((Backoff{3, milliseconds(1), milliseconds(5), 1.5}).validate(), UsageError);
  CHECK_THROWS_AS((Backoff{3, milliseconds(-1), milliseconds(5)}).validate(), UsageError);
  CHECK_NOTHROW((Backoff{}).validate());
}

TEST_CASE("with_retry re-runs on deadlock and serialization failure with backoff") {
  std::vector<milliseconds> slept;
  RetryPolicy policy;
  policy.max_attempts = 4;
  policy.initial = milliseconds(10);
  policy.max = milliseconds(25);
  policy.jitter = 0.5;
  policy.sleep = [&](milliseconds d) { slept.push_back(d); };
  policy.random = [] { return 0.5; };
  int calls = 0;
  int result = with_retry(policy, [&](int attempt) {
    ++calls;
    CHECK(attempt == calls);
    if (attempt == 1) throw DeadlockError(report("40P01"));
    if (attempt == 2) throw SerializationError(report("40001"));
    if (attempt == 3) throw DeadlockError(report("40P01"));
    return 42;
  });
  CHECK(result == 42);
  CHECK(calls == 4);
  CHECK(slept == std::vector<milliseconds>{milliseconds(8), milliseconds(15), milliseconds(19)});
}

TEST_CASE("with_retry gives up after max_attempts and rethrows the last error") {
  int calls = 0;
  int sleeps = 0;
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.sleep = [&](milliseconds) { ++sleeps; };
  CHECK_THROWS_AS(with_retry(policy,
                             [&](int) {
                               ++calls;
                               throw SerializationError(report("40001"));
                             }),
                  SerializationError);
  CHECK(calls == 3);
  CHECK(sleeps == 2);
}

TEST_CASE("with_retry does not retry other errors") {
  int calls = 0;
  int sleeps = 0;
  RetryPolicy policy;
  policy.sleep = [&](milliseconds) { ++sleeps; };
  CHECK_THROWS_AS(with_retry(policy,
                             [&](int) {
                               ++calls;
                               throw ConflictError(report("23505"));
                             }),
                  ConflictError);
  CHECK_THROWS_AS(with_retry(policy,
                             [&](int) {
                               ++calls;
                               throw InDoubtError(report("08006"));
                             }),
                  InDoubtError);
  CHECK_THROWS_AS(with_retry(policy,
                             [&](int) {
                               ++calls;
                               throw ConnectionError(report("08006"));
                             }),
                  ConnectionError);
  CHECK_THROWS_AS(with_retry(policy,
                             [&](int) {
                               ++calls;
                               throw std::runtime_error("app");
                             }),
                  std::runtime_error);
  CHECK(calls == 4);
  CHECK(sleeps == 0);
  CHECK_THROWS_AS(with_retry(RetryPolicy::never(),
                             [&](int) {
                               ++calls;
                               throw DeadlockError(report("40P01"));
                             }),
                  DeadlockError);
  CHECK(calls == 5);
}
