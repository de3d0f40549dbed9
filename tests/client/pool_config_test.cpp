// Pool configuration: lifetimes with jitter, idle trimming and min_idle (with a fake clock),
// FIFO waiting, the check on return, connect_timeout and the statistics.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "test_database.hpp"

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

// A steady clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<long long>> elapsed_ms = std::make_shared<std::atomic<long long>>(0);
  void advance(std::chrono::milliseconds by) { *elapsed_ms += by.count(); }
  PoolClock function() const {
    return [elapsed = elapsed_ms] {
      return std::chrono::steady_clock::time_point(std::chrono::milliseconds(*elapsed));
    };
  }
};

PoolOptions manual_options(const FakeClock& clock) {
  PoolOptions options;
  options.maintenance_interval = 0ms;  // the test calls maintain()
  options.clock = clock.function();
  options.max_lifetime_jitter = 0.0;
  return options;
}

// Polls until condition() holds (deadline 30 s).
template <class Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);  // polling, bounded by the deadline
  }
  return true;
}

}  // namespace

TEST_CASE("pool: a connection is replaced once it reaches max_lifetime (fake clock)") {
  FakeClock clock;
  PoolOptions options = manual_options(clock);
  options.max_lifetime = 60s;
  Pool pool(client_test::dsn(), options);
  { PooledConnection c = pool.acquire(); }
  clock.advance(59s);
  {
    PooledConnection c = pool.acquire();  // still young enough: reused
    CHECK(pool.stats().created == 1);
  }
  clock.advance(1s);
  {
    PooledConnection c = pool.acquire();  // expired while idle: closed, a new one is opened
    CHECK(c->query_value<int>("SELECT 1") == 1);
    PoolStats stats = pool.stats();
    CHECK(stats.created == 2);
    CHECK(stats.closed == 1);
    CHECK(stats.open == 1);
    CHECK(stats.in_use == 1);
    clock.advance(61s);  // expires while lent out: closed when given back
  }
  PoolStats stats = pool.stats();
  CHECK(stats.open == 0);
  CHECK(stats.closed == 2);
}

TEST_CASE("pool: max_lifetime_jitter shortens each lifetime by a random fraction") {
  FakeClock clock;
  PoolOptions options = manual_options(clock);
  options.max_lifetime = 100s;
  options.max_lifetime_jitter = 0.2;
  options.random = [] { return 0.5; };  // lifetime = 100 s * (1 - 0.2 * 0.5) = 90 s
  Pool pool(client_test::dsn(), options);
  { PooledConnection c = pool.acquire(); }
  clock.advance(89s);
  { PooledConnection c = pool.acquire(); }
  CHECK(pool.stats().created == 1);
  clock.advance(1s);
  { PooledConnection c = pool.acquire(); }
  CHECK(pool.stats().created == 2);
  CHECK(pool.stats().closed == 1);
}

TEST_CASE("pool: maintain() trims idle connections down to min_idle and tops up to it") {
  FakeClock clock;
  PoolOptions options = manual_options(clock);
  options.min_idle = 1;
  options.max_size = 3;
  options.idle_timeout = 10s;
  options.max_lifetime = 1h;
  Pool pool(client_test::dsn(), options);
  CHECK(pool.stats().open == 0);  // nothing is opened before maintain()
  CHECK(pool.maintain());
  CHECK(pool.stats().idle == 1);
  {
    PooledConnection a = pool.acquire(), b = pool.acquire(), c = pool.acquire();
    CHECK(pool.stats().in_use == 3);
    CHECK(pool.stats().created == 3);
  }
  CHECK(pool.stats().idle == 3);
  clock.advance(9s);
  CHECK(pool.maintain());
  CHECK(pool.stats().idle == 3);
  clock.advance(1s);
  CHECK(pool.maintain());
  PoolStats stats = pool.stats();
  CHECK(stats.idle == 1);  // min_idle is kept however long it idles
  CHECK(stats.open == 1);
  CHECK(stats.closed == 2);
  clock.advance(1h);  // past max_lifetime: the kept one is replaced
  CHECK(pool.maintain());
  stats = pool.stats();
  CHECK(stats.idle == 1);
  CHECK(stats.closed == 3);
  CHECK(stats.created == 4);
}

TEST_CASE("pool: the maintenance thread opens min_idle connections on its own") {
  PoolOptions options;
  options.min_idle = 2;
  options.max_size = 4;
  options.maintenance_interval = 1h;  // runs once at start, then hourly
  Pool pool(client_test::dsn(), options);
  CHECK(eventually([&] { return pool.stats().idle == 2; }));
  CHECK(pool.stats().created == 2);
}

TEST_CASE("pool: waiters are served first come, first served") {
  PoolOptions options;
  options.max_size = 1;
  options.acquire_timeout = 60s;
  options.maintenance_interval = 0ms;
  Pool pool(client_test::dsn(), options);
  std::optional<PooledConnection> held(pool.acquire());
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      PooledConnection c = pool.acquire();
      std::lock_guard lock(order_mutex);
      order.push_back(i);
    });
    // The next thread starts only once this one is queued, so the queue order is known.
    REQUIRE(eventually([&] { return pool.stats().waiting == static_cast<std::size_t>(i + 1); }));
  }
  held.reset();
  for (auto& thread : threads) thread.join();
  CHECK(order == std::vector<int>{0, 1, 2, 3});
  PoolStats stats = pool.stats();
  CHECK(stats.created == 1);  // one connection, handed from waiter to waiter
  CHECK(stats.waiting == 0);
  CHECK(stats.timeouts == 0);
}

TEST_CASE("pool: acquire timeouts are counted and leave the queue") {
  PoolOptions options;
  options.max_size = 1;
  options.maintenance_interval = 0ms;
  Pool pool(client_test::dsn(), options);
  PooledConnection held = pool.acquire();
  CHECK_THROWS_AS(pool.acquire(20ms), PoolTimeout);
  CHECK_THROWS_AS(pool.acquire(0ms), PoolTimeout);
  PoolStats stats = pool.stats();
  CHECK(stats.timeouts == 2);
  CHECK(stats.waiting == 0);
  CHECK(stats.in_use == 1);
}

TEST_CASE("pool: check_on_return rolls back an open transaction and reuses the connection") {
  Connection setup = client_test::connect();
  client_test::Table table(setup, "pool_return", "id int");
  PoolOptions options;
  options.max_size = 1;
  options.maintenance_interval = 0ms;
  Pool pool(client_test::dsn(), options);  // ReturnCheck::Rollback is the default
  {
    PooledConnection c = pool.acquire();
    c->execute_script("BEGIN; INSERT INTO " + table + " VALUES (1)");
    REQUIRE(c->in_transaction());
  }
  PooledConnection c = pool.acquire();
  CHECK_FALSE(c->in_transaction());
  CHECK(c->query_value<long>("SELECT count(*) FROM " + table) == 0);
  CHECK(pool.stats().created == 1);
  CHECK(pool.stats().closed == 0);
}

TEST_CASE("pool: check_on_return DiscardAll resets the session and the statement cache") {
  PoolOptions options;
  options.max_size = 1;
  options.maintenance_interval = 0ms;
  options.check_on_return = ReturnCheck::DiscardAll;
  Pool pool(client_test::dsn(), options);
  {
    PooledConnection c = pool.acquire();
    c->execute_script("SET application_name = 'pool_discard_test'");
    CHECK(c->query_value<int>("SELECT $1::int", 5) == 5);
    CHECK(c->cached_statements() == 1);
  }
  PooledConnection c = pool.acquire();
  CHECK(c->cached_statements() == 0);
  CHECK(c->query_value<std::string>("SELECT current_setting('application_name')") !=
        "pool_discard_test");
  CHECK(c->query_value<int>("SELECT $1::int", 6) == 6);  // prepared again, not "does not exist"
  CHECK(pool.stats().created == 1);
}

TEST_CASE("pool: check_on_return Close closes a connection given back inside a transaction") {
  PoolOptions options;
  options.max_size = 1;
  options.maintenance_interval = 0ms;
  options.check_on_return = ReturnCheck::Close;
  Pool pool(client_test::dsn(), options);
  {
    PooledConnection c = pool.acquire();
    c->execute_script("BEGIN");
  }
  PoolStats stats = pool.stats();
  CHECK(stats.open == 0);
  CHECK(stats.closed == 1);
}

TEST_CASE("pool: connect_timeout bounds an attempt to a server that never answers") {
  // A socket that accepts TCP connections (the kernel completes the handshake) but never speaks.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 8) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const int port = ntohs(address.sin_port);

  PoolOptions options;
  options.connect_timeout = 2s;
  options.connect.backoff.attempts = 1;
  options.maintenance_interval = 0ms;
  Pool pool("host=127.0.0.1 port=" + std::to_string(port) + " user=u dbname=d", options);
  try {
    pool.acquire();
    FAIL("acquire() should have thrown");
  } catch (const ConnectionError& error) {
    CHECK(std::string(error.what()).find("timeout expired") != std::string::npos);
  }
  PoolStats stats = pool.stats();
  CHECK(stats.open == 0);  // the slot is free again
  CHECK(stats.created == 0);
  ::close(listener);
}
