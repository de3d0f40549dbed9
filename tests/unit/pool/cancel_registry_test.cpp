// CancelRegistry: cancel keys handed to clients -> the clients.
#include "pool/cancel_registry.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>

using namespace ouroboros::pool;

TEST_CASE("add, find, contains, remove") {
  CancelRegistry r;
  CHECK(r.size() == 0);
  CHECK_FALSE(r.find({1, 2}).has_value());
  CHECK_FALSE(r.contains({1, 2}));

  r.add({1, 2}, 10);
  r.add({3, 4}, 11);
  CHECK(r.size() == 2);
  CHECK(r.contains({1, 2}));
  CHECK(r.find({1, 2}) == std::optional<ClientId>(10));
  CHECK(r.find({3, 4}) == std::optional<ClientId>(11));
  // Both halves of the key count.
  CHECK_FALSE(r.contains({1, 4}));
  CHECK_FALSE(r.contains({3, 2}));
  CHECK_FALSE(r.contains({2, 1}));

  r.remove({1, 2});
  CHECK_FALSE(r.contains({1, 2}));
  CHECK_FALSE(r.find({1, 2}).has_value());
  CHECK(r.find({3, 4}) == std::optional<ClientId>(11));
  CHECK(r.size() == 1);
  r.remove({1, 2});  // absent: no effect
  r.remove({99, 99});
  CHECK(r.size() == 1);
}

TEST_CASE("adding a key again replaces its client") {
  CancelRegistry r;
  r.add({5, 6}, 1);
  r.add({5, 6}, 2);
  CHECK(r.size() == 1);
  CHECK(r.find({5, 6}) == std::optional<ClientId>(2));
}

TEST_CASE("negative and extreme pids and keys are distinct keys") {
  constexpr std::int32_t kMin = std::numeric_limits<std::int32_t>::min();
  constexpr std::int32_t kMax = std::numeric_limits<std::int32_t>::max();
  const CancelKey keys[] = {{-1, 0}, {0, -1}, {-1, -1}, {0, 0},    {kMin, kMax},
                            {kMax, kMin}, {kMin, kMin}, {kMax, kMax}, {1, -1}, {-1, 1}};
  CancelRegistry r;
  ClientId id = 100;
  for (const CancelKey& k : keys) r.add(k, id++);
  CHECK(r.size() == std::size(keys));
  id = 100;
  for (const CancelKey& k : keys) {
    CAPTURE(k.pid);
    CAPTURE(k.key);
    CHECK(r.find(k) == std::optional<ClientId>(id++));
  }
  r.remove({-1, -1});
  CHECK_FALSE(r.contains({-1, -1}));
  CHECK(r.contains({-1, 0}));
  CHECK(r.contains({0, -1}));
  CHECK(r.size() == std::size(keys) - 1);
}
