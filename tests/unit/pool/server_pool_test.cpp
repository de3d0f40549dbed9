// ServerPool: events in (with a fake "now"), PoolActions out. Scripted scenarios for each rule,
// and a randomized model test (fixed seeds) that checks the pool's invariants after every event.
#include "pool/server_pool.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace ouroboros;
using namespace ouroboros::pool;
using namespace std::chrono_literals;
using Kind = PoolAction::Kind;

namespace {

PoolLimits limits_of(std::size_t size) {
  PoolLimits l;
  l.size = size;
  return l;
}

// One pool with its own id counter, capacity and random source, plus the actions of the latest
// event. Time stands still unless a test advances `now`.
struct Harness {
  explicit Harness(std::size_t size) : Harness(limits_of(size)) {}
  explicit Harness(PoolLimits limits) : pool(limits, next_id, capacity, random) {}

  std::vector<PoolAction>& request(ClientId c, std::string key = "", bool front = false) {
    out.clear();
    pool.request(c, std::move(key), now, out, front);
    return out;
  }
  std::vector<PoolAction>& ready(ServerId s) {
    out.clear();
    pool.server_ready(s, now, out);
    return out;
  }
  std::vector<PoolAction>& release(ServerId s, bool reusable = true) {
    out.clear();
    pool.release(s, reusable, now, out);
    return out;
  }
  std::vector<PoolAction>& failed(ServerId s, bool rejected = false) {
    return failed_with(s, rejected ? ConnectFailure::Rejected : ConnectFailure::Transient);
  }
  std::vector<PoolAction>& failed_with(ServerId s, ConnectFailure failure) {
    out.clear();
    pool.connect_failed(s, failure, now, out);
    return out;
  }
  std::vector<PoolAction>& remove(ServerId s) {
    out.clear();
    pool.remove(s, now, out);
    return out;
  }
  std::vector<PoolAction>& tick(Duration advance = Duration::zero()) {
    now += advance;
    out.clear();
    pool.tick(now, out);
    return out;
  }
  std::vector<PoolAction>& set_limits(PoolLimits l) {
    out.clear();
    pool.set_limits(l, now, out);
    return out;
  }
  std::vector<PoolAction>& retire_all() {
    out.clear();
    pool.retire_all(now, out);
    return out;
  }

  // Opens a server for `key`, assigns it to `c` and releases it: it ends up idle.
  ServerId make_idle(ClientId c, const std::string& key) {
    request(c, key);
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].kind == Kind::Connect);
    const ServerId s = out[0].server;
    ready(s);
    REQUIRE(out.size() == 1);
    REQUIRE(out[0].kind == Kind::Assign);
    REQUIRE(out[0].client == c);
    release(s);
    REQUIRE(out.empty());
    return s;
  }

  ServerId next_id = 0;
  DatabaseCapacity capacity;
  RandomSource random{42};
  TimePoint now{};
  ServerPool pool;
  std::vector<PoolAction> out;
};

void check_connect(const PoolAction& a, const std::string& key) {
  CHECK(a.kind == Kind::Connect);
  CHECK(a.client == 0);
  CHECK(a.params_key == key);
}

void check_assign(const PoolAction& a, ClientId c, ServerId s, bool match = true) {
  CHECK(a.kind == Kind::Assign);
  CHECK(a.client == c);
  CHECK(a.server == s);
  CHECK(a.params_match == match);
}

void check_close(const PoolAction& a, ServerId s) {
  CHECK(a.kind == Kind::CloseServer);
  CHECK(a.server == s);
}

std::size_t count_kind(const std::vector<PoolAction>& out, Kind k) {
  return static_cast<std::size_t>(
      std::count_if(out.begin(), out.end(), [&](const PoolAction& a) { return a.kind == k; }));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Basics: FIFO, LIFO, size, parameters

TEST_CASE("a request on an empty pool opens one server and assigns it when ready") {
  Harness h(4);
  auto& out = h.request(1, "k");
  REQUIRE(out.size() == 1);
  check_connect(out[0], "k");
  const ServerId s = out[0].server;
  CHECK(s != 0);
  CHECK(h.pool.connecting_count() == 1);
  CHECK(h.pool.waiting_count() == 1);
  CHECK(h.pool.total() == 1);
  CHECK(h.capacity.open == 1);

  REQUIRE(h.ready(s).size() == 1);
  check_assign(h.out[0], 1, s);
  CHECK(h.out[0].params_key == "k");
  CHECK_FALSE(h.out[0].needs_check);
  CHECK(h.pool.active_count() == 1);
  CHECK(h.pool.waiting_count() == 0);
  CHECK(h.pool.connecting_count() == 0);
}

TEST_CASE("server ids come from the shared counter and are unique across pools") {
  ServerId next = 100;
  DatabaseCapacity cap;
  RandomSource rnd(1);
  ServerPool a(limits_of(2), next, cap, rnd), b(limits_of(2), next, cap, rnd);
  std::vector<PoolAction> out;
  a.request(1, "", TimePoint{}, out);
  b.request(2, "", TimePoint{}, out);
  a.request(3, "", TimePoint{}, out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].server == 101);
  CHECK(out[1].server == 102);
  CHECK(out[2].server == 103);
  CHECK(next == 103);
  CHECK(cap.open == 3);
}

TEST_CASE("never more servers than `size`; waiters are served FIFO") {
  Harness h(2);
  std::vector<ServerId> connects;
  for (ClientId c = 1; c <= 5; ++c)
    for (const auto& a : h.request(c)) {
      CHECK(a.kind == Kind::Connect);
      connects.push_back(a.server);
    }
  REQUIRE(connects.size() == 2);
  CHECK(h.pool.total() == 2);
  CHECK(h.pool.waiting_count() == 5);

  // Whichever server becomes ready first goes to the oldest waiter.
  REQUIRE(h.ready(connects[1]).size() == 1);
  check_assign(h.out[0], 1, connects[1]);
  REQUIRE(h.ready(connects[0]).size() == 1);
  check_assign(h.out[0], 2, connects[0]);

  // Releases hand the servers on to clients 3, 4, 5 in order, without new connections.
  REQUIRE(h.release(connects[0]).size() == 1);
  check_assign(h.out[0], 3, connects[0]);
  REQUIRE(h.release(connects[0]).size() == 1);
  check_assign(h.out[0], 4, connects[0]);
  REQUIRE(h.release(connects[1]).size() == 1);
  check_assign(h.out[0], 5, connects[1]);
  CHECK(h.pool.waiting_count() == 0);
  CHECK(h.pool.total() == 2);
}

TEST_CASE("can_serve_now: true while a request would not wait for another client") {
  Harness h(2);
  CHECK(h.pool.can_serve_now(h.now));  // empty pool: room to open a server
  h.request(1);
  CHECK(h.pool.can_serve_now(h.now));  // one connecting for client 1, room for another
  h.request(2);
  CHECK_FALSE(h.pool.can_serve_now(h.now));  // full: a third client would wait
  const ServerId s = h.out[0].server;
  h.ready(s);
  h.release(s);
  CHECK(h.pool.waiting_count() == 0);
  CHECK_FALSE(h.pool.can_serve_now(h.now));  // the server went on to client 2, nothing is free
  h.tick();
  h.out.clear();
  h.pool.set_paused(true, h.now, h.out);
  CHECK_FALSE(h.pool.can_serve_now(h.now));
}

TEST_CASE("can_serve_now: an idle server is free; backing off is not room") {
  Harness h(1);
  h.make_idle(1, "");
  CHECK(h.pool.can_serve_now(h.now));
  h.request(2);  // takes the idle server
  CHECK_FALSE(h.pool.can_serve_now(h.now));

  Harness down(3);
  down.request(1);
  down.failed(down.out[0].server);
  CHECK_FALSE(down.pool.can_serve_now(down.now));  // the next attempt waits for the backoff
}

TEST_CASE("a request with front=true goes ahead of the other waiters") {
  Harness h(1);
  const ServerId s = h.request(1).at(0).server;
  h.ready(s);
  CHECK(h.request(2).empty());
  CHECK(h.request(3, "", true).empty());
  REQUIRE(h.release(s).size() == 1);
  check_assign(h.out[0], 3, s);
  REQUIRE(h.release(s).size() == 1);
  check_assign(h.out[0], 2, s);
}

TEST_CASE("idle servers are reused LIFO (most recently released first)") {
  Harness h(3);
  std::vector<ServerId> s;
  for (ClientId c = 1; c <= 3; ++c) s.push_back(h.request(c).at(0).server);
  for (ServerId id : s) REQUIRE(h.ready(id).size() == 1);
  CHECK(h.pool.active_count() == 3);

  CHECK(h.release(s[0]).empty());
  CHECK(h.release(s[2]).empty());
  CHECK(h.release(s[1]).empty());
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{s[0], s[2], s[1]});

  REQUIRE(h.request(10).size() == 1);
  check_assign(h.out[0], 10, s[1]);
  REQUIRE(h.request(11).size() == 1);
  check_assign(h.out[0], 11, s[2]);
  REQUIRE(h.request(12).size() == 1);
  check_assign(h.out[0], 12, s[0]);
  CHECK(h.pool.total() == 3);
}

TEST_CASE("a same-parameters idle server is preferred even when it is not the most recent") {
  Harness h(3);
  const ServerId a = h.make_idle(1, "A");
  const ServerId b = h.make_idle(2, "B");
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{a, b});  // b is the most recent

  REQUIRE(h.request(3, "A").size() == 1);
  check_assign(h.out[0], 3, a, true);
  CHECK(h.out[0].params_key == "A");
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{b});
}

TEST_CASE("a later waiter with matching parameters is served before an earlier mismatched one") {
  Harness h(1);
  const ServerId s = h.request(1, "A").at(0).server;
  h.ready(s);
  CHECK(h.request(2, "B").empty());
  CHECK(h.request(3, "A").empty());
  REQUIRE(h.release(s).size() == 1);
  check_assign(h.out[0], 3, s, true);
  // Next release: only client 2 is left; the pool is full, so it gets the mismatched server.
  REQUIRE(h.release(s).size() == 1);
  check_assign(h.out[0], 2, s, false);
}

TEST_CASE("a full pool hands a mismatched idle server with params_match=false") {
  Harness h(1);
  const ServerId s = h.make_idle(1, "A");
  auto& out = h.request(2, "B");
  REQUIRE(out.size() == 1);  // no Connect: the pool is full
  check_assign(out[0], 2, s, false);
  CHECK(out[0].params_key == "B");  // the client's parameters, for the caller to apply
  CHECK(h.pool.total() == 1);
}

TEST_CASE("with room, a mismatched idle server stays idle and a matching one is opened") {
  Harness h(3);
  const ServerId a = h.make_idle(1, "A");
  auto& out = h.request(2, "B");
  REQUIRE(out.size() == 1);
  check_connect(out[0], "B");
  const ServerId b = out[0].server;
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{a});
  CHECK(h.pool.waiting_count() == 1);
  REQUIRE(h.ready(b).size() == 1);
  check_assign(h.out[0], 2, b, true);
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{a});
}

TEST_CASE("a full pool hands out mismatched idle servers LIFO") {
  Harness h(2);
  const ServerId a = h.request(1, "A").at(0).server;
  const ServerId b = h.request(2, "B").at(0).server;
  h.ready(a);
  h.ready(b);
  CHECK(h.release(a).empty());
  CHECK(h.release(b).empty());
  REQUIRE(h.request(3, "C").size() == 1);
  check_assign(h.out[0], 3, b, false);
  REQUIRE(h.request(4, "D").size() == 1);
  check_assign(h.out[0], 4, a, false);
}

// ---------------------------------------------------------------------------------------------
// Failed connections and backoff

TEST_CASE("connect_failed keeps the waiter and backs off before one new attempt") {
  PoolLimits l = limits_of(3);
  l.backoff.initial = 100ms;
  l.backoff.jitter = 0.0;
  l.backoff.multiplier = 2.0;
  Harness h(l);
  const ServerId s1 = h.request(1).at(0).server;
  const ServerId s2 = h.request(2).at(0).server;
  CHECK(h.pool.reachable());

  CHECK(h.failed(s1).empty());  // no FailClient, no immediate retry
  CHECK(h.pool.waiting_count() == 2);
  CHECK(h.pool.total() == 1);
  CHECK(h.pool.consecutive_failures() == 1);
  CHECK(h.pool.current_backoff() == 100ms);
  CHECK(h.capacity.open == 1);

  CHECK(h.failed(s2).empty());
  CHECK(h.pool.consecutive_failures() == 2);
  CHECK(h.pool.current_backoff() == 200ms);
  CHECK_FALSE(h.pool.reachable());
  CHECK(h.pool.total() == 0);

  CHECK(h.tick(199ms).empty());  // still backing off
  auto& out = h.tick(1ms);
  REQUIRE(out.size() == 1);  // one probe, not one per waiter
  check_connect(out[0], "");
  const ServerId probe = out[0].server;
  CHECK(h.tick(10s).empty());  // no second attempt while the probe is pending

  // The probe succeeds: backoff is over and the pool fills up again at once.
  auto& after = h.ready(probe);
  REQUIRE(after.size() == 2);
  check_assign(after[0], 1, probe);
  check_connect(after[1], "");
  CHECK(h.pool.consecutive_failures() == 0);
  CHECK(h.pool.current_backoff() == 0ms);
  CHECK(h.pool.reachable());
}

TEST_CASE("while backing off, a waiter gets a mismatched idle server rather than waiting") {
  Harness h(3);
  const ServerId a = h.make_idle(1, "A");
  const ServerId b = h.request(2, "B").at(0).server;  // room: a matching server is opened
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{a});
  auto& out = h.failed(b);
  REQUIRE(out.size() == 1);
  check_assign(out[0], 2, a, false);
  CHECK(count_kind(out, Kind::FailClient) == 0);
}

TEST_CASE("fail_fast: a failed connection fails every waiter at once") {
  PoolLimits l = limits_of(2);
  l.fail_fast = true;
  Harness h(l);
  const ServerId s1 = h.request(1).at(0).server;
  h.request(2);
  h.request(3);
  auto& out = h.failed(s1);
  REQUIRE(out.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(out[i].kind == Kind::FailClient);
    CHECK(out[i].client == i + 1);
    CHECK(out[i].reason == FailReason::BackendUnavailable);
  }
  CHECK(h.pool.waiting_count() == 0);
}

TEST_CASE("a rejected login fails every waiter with LoginRejected, even without fail_fast") {
  Harness h(2);
  const ServerId s1 = h.request(1).at(0).server;
  const ServerId s2 = h.request(2).at(0).server;
  h.request(3);
  auto& out = h.failed(s1, true);
  REQUIRE(out.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(out[i].kind == Kind::FailClient);
    CHECK(out[i].client == i + 1);
    CHECK(out[i].server == s1);
    CHECK(out[i].reason == FailReason::LoginRejected);
  }
  CHECK(h.pool.waiting_count() == 0);
  CHECK(h.pool.consecutive_failures() == 1);
  // The other pending connection lives on and simply becomes idle.
  CHECK(h.ready(s2).empty());
  CHECK(h.pool.idle_count() == 1);
}

TEST_CASE("a rejected startup parameter fails only the waiters with those parameters, without backoff") {
  Harness h(3);
  std::vector<PoolAction> out;
  h.pool.request(1, "bad", h.now, out);
  const ServerId bad = out.at(0).server;
  out.clear();
  h.pool.request(2, "good", h.now, out);
  const ServerId good = out.at(0).server;
  out.clear();
  h.pool.request(3, "bad", h.now, out);
  auto& failed = h.failed_with(bad, ConnectFailure::ParametersRejected);
  std::vector<ClientId> failed_clients;
  for (const auto& a : failed)
    if (a.kind == Kind::FailClient) failed_clients.push_back(a.client);
  CHECK(failed_clients == std::vector<ClientId>{1, 3});
  CHECK(h.pool.waiting_count() == 1);
  CHECK(h.pool.consecutive_failures() == 0);
  // The good client's server still arrives and serves it.
  auto& ready = h.ready(good);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].kind == Kind::Assign);
  CHECK(ready[0].client == 2);
}

// ---------------------------------------------------------------------------------------------
// Bookkeeping events

TEST_CASE("events for unknown servers or servers in the wrong state are ignored") {
  Harness h(2);
  const ServerId s = h.request(1).at(0).server;
  CHECK(h.release(s).empty());  // still connecting, not active
  CHECK(h.ready(999).empty());
  CHECK(h.failed(999).empty());
  CHECK(h.remove(999).empty());
  CHECK(h.release(999).empty());
  REQUIRE(h.ready(s).size() == 1);
  CHECK(h.ready(s).empty());   // ready twice
  CHECK(h.failed(s).empty());  // active, not connecting
  CHECK(h.pool.consecutive_failures() == 0);
  CHECK(h.pool.active_count() == 1);

  CHECK(h.release(s).empty());
  CHECK(h.release(s).empty());  // released twice: must not be idle twice
  CHECK(h.pool.idle_count() == 1);
  REQUIRE(h.request(2).size() == 1);
  check_assign(h.out[0], 2, s);
  REQUIRE(h.request(3).size() == 1);
  CHECK(h.out[0].kind == Kind::Connect);  // not the same server a second time
  CHECK(h.out[0].server != s);
}

TEST_CASE("a server released as not reusable is closed and replaced for waiters") {
  Harness h(1);
  const ServerId s = h.request(1).at(0).server;
  h.ready(s);
  CHECK(h.request(2).empty());
  auto& out = h.release(s, false);
  REQUIRE(out.size() == 2);
  check_close(out[0], s);
  check_connect(out[1], "");
  CHECK(h.pool.total() == 1);
  CHECK(h.capacity.open == 1);
}

TEST_CASE("cancel_request removes a waiter and keeps the others in order") {
  Harness h(1);
  const ServerId s = h.request(1).at(0).server;
  h.ready(s);
  h.request(2);
  h.request(3);
  h.request(4);
  CHECK(h.pool.cancel_request(3));
  CHECK_FALSE(h.pool.cancel_request(42));  // unknown: no effect
  CHECK(h.pool.waiting_count() == 2);
  REQUIRE(h.release(s).size() == 1);
  check_assign(h.out[0], 2, s);
  REQUIRE(h.release(s).size() == 1);
  check_assign(h.out[0], 4, s);
  CHECK_FALSE(h.pool.cancel_request(4));  // already assigned: nothing to cancel
  CHECK(h.release(s).empty());
  CHECK(h.pool.idle_count() == 1);
}

TEST_CASE("a cancelled waiter is not served by the server opened for it") {
  Harness h(2);
  const ServerId s = h.request(1).at(0).server;
  h.pool.cancel_request(1);
  CHECK(h.pool.waiting_count() == 0);
  CHECK(h.ready(s).empty());
  CHECK(h.pool.idle_count() == 1);
}

TEST_CASE("set_limits growing the pool issues Connect for waiters") {
  Harness h(1);
  const ServerId s = h.request(1, "a").at(0).server;
  h.ready(s);
  CHECK(h.request(2, "b").empty());
  CHECK(h.request(3, "c").empty());

  auto& out = h.set_limits(limits_of(3));
  REQUIRE(out.size() == 2);
  check_connect(out[0], "b");
  check_connect(out[1], "c");
  CHECK(h.pool.limits().size == 3);
  CHECK(h.pool.total() == 3);
  CHECK(h.pool.connecting_count() == 2);
  CHECK(h.set_limits(limits_of(3)).empty());  // already covered
}

TEST_CASE("set_limits shrinking closes idle servers, oldest first") {
  Harness h(3);
  std::vector<ServerId> s;
  for (ClientId c = 1; c <= 3; ++c) s.push_back(h.request(c).at(0).server);
  for (ServerId id : s) h.ready(id);
  h.release(s[1]);
  h.release(s[0]);
  auto& out = h.set_limits(limits_of(2));
  REQUIRE(out.size() == 1);
  check_close(out[0], s[1]);
  CHECK(h.pool.total() == 2);
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{s[0]});
}

// Was a bug (fixed): set_limits() says "A smaller pool sheds idle servers now; busy ones go as they come back",
// but release() never compares the pool with its (new) size: a reusable server handed back to a
// pool that is over its size is kept idle, so the pool stays above `size` (until idle timeout).
TEST_CASE("after shrinking, busy servers are closed as they come back") {
  Harness h(3);
  std::vector<ServerId> s;
  for (ClientId c = 1; c <= 3; ++c) s.push_back(h.request(c).at(0).server);
  for (ServerId id : s) h.ready(id);
  CHECK(h.set_limits(limits_of(1)).empty());  // nothing idle to shed yet
  std::size_t closed = 0;
  for (ServerId id : s) closed += count_kind(h.release(id), Kind::CloseServer);
  CHECK(closed == 2);
  CHECK(h.pool.total() == 1);
}

TEST_CASE("remove forgets a server in any state and refills for uncovered waiters") {
  Harness h(2);
  const ServerId s1 = h.request(1).at(0).server;
  const ServerId s2 = h.request(2).at(0).server;
  h.ready(s1);
  CHECK(h.request(3).empty());

  SUBCASE("an active server") {
    auto& out = h.remove(s1);
    REQUIRE(out.size() == 1);  // no CloseServer: it is already gone
    check_connect(out[0], "");
    CHECK(h.pool.total() == 2);
    CHECK(h.pool.active_count() == 0);
  }
  SUBCASE("a connecting server: its waiter is not failed, a new connection is opened") {
    auto& out = h.remove(s2);
    REQUIRE(out.size() == 1);
    check_connect(out[0], "");
    CHECK(h.pool.connecting_count() == 1);
    CHECK(h.pool.waiting_count() == 2);
    CHECK(h.pool.consecutive_failures() == 0);
  }
  SUBCASE("an idle server") {
    h.pool.cancel_request(3);
    h.pool.cancel_request(2);
    h.release(s1);
    CHECK(h.pool.idle_count() == 1);
    CHECK(h.remove(s1).empty());
    CHECK(h.pool.idle_count() == 0);
    CHECK(h.pool.idle_servers().empty());
    CHECK(h.pool.total() == 1);
  }
  CHECK(h.capacity.open == h.pool.total());
}

// ---------------------------------------------------------------------------------------------
// Time: wait timeout, idle timeout, lifetime, checks, min_size, reserve

TEST_CASE("tick fails waiters after query_wait_timeout") {
  PoolLimits l = limits_of(1);
  l.query_wait_timeout = 10s;
  Harness h(l);
  const ServerId s = h.request(1).at(0).server;
  h.ready(s);
  h.request(2);
  h.now += 4s;
  h.request(3);
  CHECK(h.tick(5s).empty());
  auto& out = h.tick(1s);  // client 2 has waited 10s
  REQUIRE(out.size() == 1);
  CHECK(out[0].kind == Kind::FailClient);
  CHECK(out[0].client == 2);
  CHECK(out[0].reason == FailReason::WaitTimeout);
  CHECK(h.pool.longest_wait(h.now) == 6s);
  REQUIRE(h.tick(4s).size() == 1);
  CHECK(h.out[0].client == 3);
  CHECK(h.pool.waiting_count() == 0);
}

TEST_CASE("a wait timeout while the backend is unreachable says so") {
  PoolLimits l = limits_of(1);
  l.query_wait_timeout = 10s;
  Harness h(l);
  const ServerId s = h.request(1).at(0).server;
  h.failed(s);
  CHECK_FALSE(h.pool.reachable());
  h.now += 10s;
  h.out.clear();
  h.pool.tick(h.now, h.out);
  REQUIRE(count_kind(h.out, Kind::FailClient) == 1);
  const auto fail = std::find_if(h.out.begin(), h.out.end(),
                                 [](const PoolAction& a) { return a.kind == Kind::FailClient; });
  CHECK(fail->client == 1);
  CHECK(fail->reason == FailReason::BackendUnavailable);
}

TEST_CASE("query_wait_timeout 0 waits forever") {
  PoolLimits l = limits_of(1);
  l.query_wait_timeout = 0s;
  Harness h(l);
  h.ready(h.request(1).at(0).server);
  h.request(2);
  CHECK(h.tick(std::chrono::hours(24 * 365)).empty());
  CHECK(h.pool.waiting_count() == 1);
}

TEST_CASE("idle servers are closed after server_idle_timeout, keeping min_size") {
  PoolLimits l = limits_of(4);
  l.server_idle_timeout = 60s;
  l.server_lifetime = 0s;
  l.min_size = 1;
  Harness h(l);
  std::vector<ServerId> s;
  for (ClientId c = 1; c <= 3; ++c) s.push_back(h.request(c).at(0).server);
  for (ServerId id : s) h.ready(id);
  h.release(s[0]);
  h.now += 30s;
  h.release(s[1]);
  h.release(s[2]);
  auto& first = h.tick(30s);  // s[0] idle for 60s
  REQUIRE(first.size() == 1);
  check_close(first[0], s[0]);
  auto& rest = h.tick(60s);  // both others expired, one stays for min_size
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].kind == Kind::CloseServer);
  CHECK(h.pool.total() == 1);
  CHECK(h.tick(std::chrono::hours(5)).empty());
  CHECK(h.pool.total() == 1);
}

TEST_CASE("min_size warms the pool up without clients") {
  PoolLimits l = limits_of(4);
  l.min_size = 2;
  Harness h(l);
  auto& out = h.tick();
  REQUIRE(out.size() == 2);
  check_connect(out[0], "");
  check_connect(out[1], "");
  CHECK(h.tick().empty());
  CHECK(h.pool.total() == 2);
}

TEST_CASE("server_lifetime: expired servers are closed when idle or released") {
  PoolLimits l = limits_of(2);
  l.server_lifetime = 100s;
  l.server_idle_timeout = 0s;
  Harness h(l);
  const ServerId a = h.request(1).at(0).server;
  const ServerId b = h.request(2).at(0).server;
  h.ready(a);
  h.ready(b);
  h.release(a);
  h.now += 99s;
  CHECK(h.tick().empty());
  auto& out = h.tick(1s);
  REQUIRE(out.size() == 1);
  check_close(out[0], a);
  auto& rel = h.release(b, true);
  REQUIRE(rel.size() == 1);
  check_close(rel[0], b);
  CHECK(h.pool.total() == 0);
}

TEST_CASE("take_idle: the newest idle server with the parameters, only when request() would give it") {
  PoolLimits l = limits_of(4);
  l.server_check_delay = 30s;
  Harness h(l);
  const ServerId a = h.request(1).at(0).server;
  const ServerId b = h.request(2).at(0).server;
  h.ready(a);
  h.ready(b);
  REQUIRE(h.release(a).empty());
  REQUIRE(h.release(b).empty());
  CHECK_FALSE(h.pool.take_idle("other", h.now));  // the newest has other parameters
  auto taken = h.pool.take_idle("", h.now);
  REQUIRE(taken);
  CHECK(taken->server == b);  // LIFO, as request() would choose
  CHECK_FALSE(taken->needs_check);
  CHECK(h.pool.active_count() == 1);
  CHECK(h.pool.idle_servers() == std::vector<ServerId>{a});
  h.now += 31s;
  taken = h.pool.take_idle("", h.now);
  REQUIRE(taken);
  CHECK(taken->server == a);
  CHECK(taken->needs_check);  // idle longer than server_check_delay
  CHECK_FALSE(h.pool.take_idle("", h.now));  // nothing idle: request() queues or connects
  CHECK(h.release(a).empty());

  SUBCASE("not while a client waits (it would jump the queue)") {
    h.request(10, "x");  // waits for a connection of its own parameters
    REQUIRE(h.pool.waiting_count() == 1);
    CHECK_FALSE(h.pool.take_idle("", h.now));
  }
  SUBCASE("not while paused") {
    h.out.clear();
    h.pool.set_paused(true, h.now, h.out);
    CHECK_FALSE(h.pool.take_idle("", h.now));
  }
}

TEST_CASE("take_idle leaves a pool below min_size to request()") {
  PoolLimits l = limits_of(3);
  l.min_size = 2;
  Harness h(l);
  h.capacity.max_connections = 1;  // the database allows one: min_size cannot be reached
  const ServerId s = h.request(1).at(0).server;
  h.ready(s);
  REQUIRE(h.release(s).empty());
  CHECK_FALSE(h.pool.take_idle("", h.now));  // request() would also try to refill
  REQUIRE(h.request(2).size() == 1);
  check_assign(h.out[0], 2, s);
}

TEST_CASE("an Assign after a long idle period asks for a check") {
  PoolLimits l = limits_of(2);
  l.server_check_delay = 30s;
  Harness h(l);
  const ServerId s = h.make_idle(1, "");
  h.now += 30s;
  REQUIRE(h.request(2).size() == 1);
  CHECK_FALSE(h.out[0].needs_check);  // exactly the delay: not longer
  h.release(s);
  h.now += 31s;
  REQUIRE(h.request(3).size() == 1);
  check_assign(h.out[0], 3, s);
  CHECK(h.out[0].needs_check);
}

TEST_CASE("reserve_size: extra servers once the oldest waiter waited reserve_timeout") {
  PoolLimits l = limits_of(1);
  l.reserve_size = 1;
  l.reserve_timeout = 5s;
  Harness h(l);
  h.ready(h.request(1).at(0).server);
  CHECK(h.request(2).empty());
  CHECK(h.request(3).empty());
  CHECK(h.tick(4s).empty());
  auto& out = h.tick(1s);
  REQUIRE(out.size() == 1);  // only reserve_size more
  check_connect(out[0], "");
  CHECK(h.pool.total() == 2);
  CHECK(h.tick(60s).empty());
}

TEST_CASE("retire_all closes idle servers now and busy ones when released") {
  Harness h(3);
  const ServerId idle = h.make_idle(1, "");
  const ServerId busy = h.request(2, "x").at(0).server;
  h.ready(busy);
  auto& out = h.retire_all();
  REQUIRE(out.size() == 1);
  check_close(out[0], idle);
  auto& rel = h.release(busy, true);
  REQUIRE(rel.size() == 1);
  check_close(rel[0], busy);
  CHECK(h.pool.total() == 0);
}

// Was a bug (fixed): retire_all() marks connecting servers for retirement, but server_ready() never looks at
// the mark: a connection opened before a config reload changed the backend (or before RECONNECT)
// is put in the idle list and handed to the next client instead of being closed.
TEST_CASE("retire_all: a server still connecting is not handed out") {
  Harness h(2);
  const ServerId old = h.request(1).at(0).server;
  h.retire_all();
  auto& out = h.ready(old);
  const bool assigned_old = std::any_of(out.begin(), out.end(), [&](const PoolAction& a) {
    return a.kind == Kind::Assign && a.server == old;
  });
  CHECK_FALSE(assigned_old);
  CHECK(count_kind(out, Kind::CloseServer) == 1);
}

TEST_CASE("DatabaseCapacity is shared across pools and freed when a pool goes away") {
  ServerId next = 0;
  DatabaseCapacity cap;
  cap.max_connections = 2;
  RandomSource rnd(7);
  std::vector<PoolAction> out;
  ServerPool a(limits_of(5), next, cap, rnd);
  {
    ServerPool b(limits_of(5), next, cap, rnd);
    a.request(1, "", TimePoint{}, out);
    b.request(2, "", TimePoint{}, out);
    CHECK(count_kind(out, Kind::Connect) == 2);
    CHECK(cap.full());
    out.clear();
    b.request(3, "", TimePoint{}, out);
    a.request(4, "", TimePoint{}, out);
    CHECK(out.empty());  // the database is at max_connections
  }
  CHECK(cap.open == 1);  // b's server was given back with b
  out.clear();
  a.remove(1, TimePoint{}, out);  // a's pending server (id 1) goes away
  REQUIRE(out.size() == 2);       // room for both of a's waiters, up to max_connections
  CHECK(count_kind(out, Kind::Connect) == 2);
  CHECK(cap.open == 2);
  CHECK(cap.full());
}

// ---------------------------------------------------------------------------------------------
// Randomized model test.

namespace {

enum class MState { Connecting, Idle, Active, Closing };

struct Model {
  std::map<ServerId, MState> servers;
  std::map<ServerId, std::string> server_key;
  std::map<ServerId, TimePoint> idle_since;
  std::deque<std::pair<ClientId, std::string>> waiters;
  std::set<ClientId> ever_assigned;
  TimePoint last_failure{};

  std::size_t count(MState s) const {
    std::size_t n = 0;
    for (const auto& [id, st] : servers) n += st == s;
    return n;
  }
  std::vector<ServerId> in_state(MState s) const {
    std::vector<ServerId> v;
    for (const auto& [id, st] : servers)
      if (st == s) v.push_back(id);
    return v;
  }
  bool waiting(ClientId c) const {
    return std::any_of(waiters.begin(), waiters.end(), [&](const auto& w) { return w.first == c; });
  }
  void drop_waiter(ClientId c) {
    waiters.erase(std::find_if(waiters.begin(), waiters.end(), [&](const auto& w) { return w.first == c; }));
  }
  void become_idle(ServerId s, TimePoint now) {
    servers[s] = MState::Idle;
    idle_since[s] = now;
  }
};

// Applies one step's actions to the model, checking each against the model's state.
void apply(Model& m, const std::vector<PoolAction>& out, const PoolLimits& limits, TimePoint now) {
  for (const PoolAction& a : out) {
    switch (a.kind) {
      case Kind::Connect:
        REQUIRE(m.servers.count(a.server) == 0);  // fresh id
        m.servers[a.server] = MState::Connecting;
        m.server_key[a.server] = a.params_key;
        break;
      case Kind::Assign: {
        REQUIRE(m.servers.count(a.server) == 1);
        REQUIRE(m.servers[a.server] == MState::Idle);  // only idle/ready servers are handed out
        REQUIRE(m.waiting(a.client));
        REQUIRE(m.ever_assigned.insert(a.client).second);  // each client at most once
        std::string key;
        for (const auto& w : m.waiters)
          if (w.first == a.client) key = w.second;
        CHECK(a.params_key == key);
        CHECK(a.params_match == (m.server_key[a.server] == key));
        CHECK(a.needs_check == (now - m.idle_since[a.server] > limits.server_check_delay));
        m.drop_waiter(a.client);
        m.servers[a.server] = MState::Active;
        break;
      }
      case Kind::FailClient:
        REQUIRE(m.waiting(a.client));
        m.drop_waiter(a.client);
        break;
      case Kind::CloseServer: {
        REQUIRE(m.servers.count(a.server) == 1);
        const MState st = m.servers[a.server];
        REQUIRE((st == MState::Idle || st == MState::Closing));  // never a busy or connecting one
        m.servers.erase(a.server);
        break;
      }
    }
  }
  REQUIRE(m.count(MState::Closing) == 0);  // every non-reusable release was closed
}

void check_invariants(const Model& m, const ServerPool& p, const DatabaseCapacity& cap, TimePoint now) {
  REQUIRE(p.total() <= p.limits().size);
  REQUIRE(p.total() == m.servers.size());
  REQUIRE(cap.open == p.total());
  REQUIRE(p.idle_count() == m.count(MState::Idle));
  REQUIRE(p.connecting_count() == m.count(MState::Connecting));
  REQUIRE(p.active_count() == m.count(MState::Active));
  REQUIRE(p.waiting_count() == m.waiters.size());
  std::vector<ServerId> idle = p.idle_servers();
  std::sort(idle.begin(), idle.end());
  REQUIRE(idle == m.in_state(MState::Idle));
  // A waiter without a pending connection is only left so when no connection may be opened:
  // the pool is full, or it is backing off (delay not over, or a probe pending).
  const bool backing_off =
      p.consecutive_failures() > 0 && (now < m.last_failure + p.current_backoff() || p.connecting_count() > 0);
  if (p.waiting_count() > p.connecting_count()) REQUIRE((p.total() >= p.limits().size || backing_off));
  // Idle servers are never kept from waiters unless a matching connection may still be opened.
  if (p.waiting_count() > 0 && p.idle_count() > 0) REQUIRE((p.total() < p.limits().size && !backing_off));
  // No idle server has the parameters a waiter asks for.
  for (ServerId s : m.in_state(MState::Idle))
    for (const auto& w : m.waiters) REQUIRE(m.server_key.at(s) != w.second);
}

template <typename T>
T pick(std::mt19937& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng)];
}

}  // namespace

TEST_CASE("randomized event sequences keep the pool's invariants") {
  const std::vector<std::string> keys = {"", "a", "b"};
  std::map<Kind, std::size_t> seen;
  for (std::uint32_t seed = 1; seed <= 40; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    PoolLimits limits = limits_of(1 + seed % 4);
    limits.min_size = seed % 5 == 0 ? 1 : 0;
    limits.fail_fast = seed % 7 == 0;
    limits.query_wait_timeout = std::chrono::seconds(5 + seed % 10);
    limits.server_idle_timeout = 20s;
    limits.server_lifetime = seed % 3 == 0 ? 60s : 0s;
    limits.server_check_delay = 3s;
    ServerId next_id = 0;
    DatabaseCapacity cap;
    RandomSource random(seed);
    TimePoint now{};
    Model m;
    ClientId next_client = 0;
    std::vector<PoolAction> out;
    {
      ServerPool pool(limits, next_id, cap, random);
      for (int step = 0; step < 400; ++step) {
        CAPTURE(step);
        out.clear();
        const int op = std::uniform_int_distribution<int>(0, 99)(rng);
        const auto connecting = m.in_state(MState::Connecting);
        const auto idle = m.in_state(MState::Idle);
        const auto active = m.in_state(MState::Active);
        if (op < 28) {
          const ClientId c = ++next_client;
          const std::string key = pick(rng, keys);
          const bool front = rng() % 8 == 0;
          if (front) m.waiters.emplace_front(c, key);
          else m.waiters.emplace_back(c, key);
          // Half the time the proxy's fast path first: a handout is the Assign request() gives.
          std::optional<ServerPool::Handout> taken;
          if (!front && rng() % 2 == 0) taken = pool.take_idle(key, now);
          if (taken) out.push_back({Kind::Assign, c, taken->server, key, true, taken->needs_check});
          else pool.request(c, key, now, out, front);
        } else if (op < 46 && !connecting.empty()) {
          const ServerId s = pick(rng, connecting);
          m.become_idle(s, now);
          pool.server_ready(s, now, out);
        } else if (op < 64 && !active.empty()) {
          const ServerId s = pick(rng, active);
          const bool reusable = rng() % 4 != 0;
          if (reusable) m.become_idle(s, now);  // closed instead if expired: CloseServer follows
          else m.servers[s] = MState::Closing;
          pool.release(s, reusable, now, out);
        } else if (op < 72 && !connecting.empty()) {
          const ServerId s = pick(rng, connecting);
          m.servers.erase(s);
          m.last_failure = now;
          pool.connect_failed(s, rng() % 10 == 0 ? ConnectFailure::Rejected : ConnectFailure::Transient, now, out);
        } else if (op < 77 && !m.servers.empty()) {
          std::vector<ServerId> all;
          for (const auto& [id, st] : m.servers) all.push_back(id);
          const ServerId s = pick(rng, all);
          m.servers.erase(s);
          pool.remove(s, now, out);
        } else if (op < 83 && !m.waiters.empty()) {
          const ClientId c = m.waiters[rng() % m.waiters.size()].first;
          m.drop_waiter(c);
          pool.cancel_request(c);
        } else if (op < 94) {
          now += Duration(std::uniform_int_distribution<int>(0, 3000)(rng));
          pool.tick(now, out);
        } else if (op < 96) {
          limits.size += rng() % 2;  // grow (or keep) the limit
          pool.set_limits(limits, now, out);
        } else if (op < 97) {
          pool.retire_all(now, out);
        } else {
          // Events for servers in the wrong state change nothing.
          if (!active.empty()) pool.server_ready(pick(rng, active), now, out);
          if (!idle.empty()) pool.release(pick(rng, idle), true, now, out);
          if (!idle.empty()) pool.connect_failed(pick(rng, idle), ConnectFailure::Transient, now, out);
          CHECK(out.empty());
        }
        apply(m, out, limits, now);
        for (const auto& a : out) ++seen[a.kind];
        check_invariants(m, pool, cap, now);
      }
    }
    CHECK(cap.open == 0);  // the pool gave its capacity back
  }
  // The sequences really exercised every kind of action.
  CHECK(seen[Kind::Assign] > 1000);
  CHECK(seen[Kind::Connect] > 300);
  CHECK(seen[Kind::FailClient] > 50);
  CHECK(seen[Kind::CloseServer] > 50);
}
