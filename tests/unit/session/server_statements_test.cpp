#include <doctest/doctest.h>

#include <string>

#include "session/server_statements.h"

using namespace ouroboros::session;

namespace {
std::string name(std::uint64_t id) { return "_ouroboros_" + std::to_string(id); }
}  // namespace

TEST_CASE("server statements: capacity is at least one") {
  CHECK(ServerStatements(0).capacity() == 1);
  CHECK(ServerStatements(3).capacity() == 3);
  ServerStatements s(5);
  s.set_capacity(0);
  CHECK(s.capacity() == 1);
}

TEST_CASE("server statements: add until full, then the least recently used is evicted") {
  ServerStatements s(3);
  CHECK_FALSE(s.use(1));
  CHECK_FALSE(s.add(1, name(1)));
  CHECK_FALSE(s.add(2, name(2)));
  CHECK_FALSE(s.add(3, name(3)));
  CHECK(s.size() == 3);
  CHECK(s.use(1));
  CHECK(s.use(2));
  CHECK(s.use(3));

  auto evicted = s.add(4, name(4));  // 1 is the oldest
  REQUIRE(evicted);
  CHECK(evicted->id == 1);
  CHECK(evicted->server_name == name(1));
  CHECK(s.size() == 3);
  CHECK_FALSE(s.use(1));

  evicted = s.add(5, name(5));
  REQUIRE(evicted);
  CHECK(evicted->id == 2);
}

TEST_CASE("server statements: use() refreshes") {
  ServerStatements s(3);
  s.add(1, name(1));
  s.add(2, name(2));
  s.add(3, name(3));
  CHECK(s.use(1));  // order now 2, 3, 1
  auto evicted = s.add(4, name(4));
  REQUIRE(evicted);
  CHECK(evicted->id == 2);
  CHECK(s.use(3));  // order now 1, 4, 3
  evicted = s.add(5, name(5));
  REQUIRE(evicted);
  CHECK(evicted->id == 1);
}

TEST_CASE("server statements: adding a statement it already has refreshes it and evicts nothing") {
  ServerStatements s(2);
  s.add(1, name(1));
  s.add(2, name(2));
  CHECK_FALSE(s.add(1, name(1)));  // order now 2, 1
  CHECK(s.size() == 2);
  auto evicted = s.add(3, name(3));
  REQUIRE(evicted);
  CHECK(evicted->id == 2);
}

TEST_CASE("server statements: capacity one") {
  ServerStatements s(1);
  CHECK_FALSE(s.add(1, name(1)));
  auto evicted = s.add(2, name(2));
  REQUIRE(evicted);
  CHECK(evicted->id == 1);
  CHECK(s.size() == 1);
}

TEST_CASE("server statements: forget without and with a pending close") {
  ServerStatements s(3);
  s.add(1, name(1));
  s.add(2, name(2));
  s.add(3, name(3));

  s.forget(2, false);  // its Parse failed: nothing to close
  CHECK_FALSE(s.use(2));
  CHECK(s.size() == 2);
  CHECK(s.take_pending_closes().empty());

  s.forget(3, true);  // stale plan: still on the server under its name
  CHECK_FALSE(s.use(3));
  CHECK(s.size() == 1);
  auto closes = s.take_pending_closes();
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].id == 3);
  CHECK(closes[0].server_name == name(3));
  CHECK(s.take_pending_closes().empty());  // taken once

  s.forget(42, true);  // unknown: no-op
  CHECK(s.take_pending_closes().empty());
  CHECK(s.size() == 1);

  // The freed room is used before anything is evicted.
  CHECK_FALSE(s.add(4, name(4)));
  CHECK_FALSE(s.add(5, name(5)));
  auto evicted = s.add(6, name(6));
  REQUIRE(evicted);
  CHECK(evicted->id == 1);
}

TEST_CASE("server statements: clear forgets everything, pending closes included") {
  ServerStatements s(3);
  s.add(1, name(1));
  s.add(2, name(2));
  s.forget(1, true);
  s.clear();
  CHECK(s.size() == 0);
  CHECK_FALSE(s.use(2));
  CHECK(s.take_pending_closes().empty());
  CHECK_FALSE(s.add(1, name(1)));
  CHECK(s.use(1));
}

TEST_CASE("server statements: a statement found on the server is tracked again, evicting") {
  ServerStatements s(1);
  CHECK_FALSE(s.add(1, name(1)));
  s.forget(1, false);
  s.found(2, name(2));
  s.found(1, name(1));  // 2 must go: its Close is pending
  CHECK(s.use(1));
  CHECK_FALSE(s.use(2));
  auto closes = s.take_pending_closes();
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].id == 2);
  s.found(1, name(1));  // already tracked: nothing changes
  CHECK(s.size() == 1);
  CHECK(s.take_pending_closes().empty());
}
