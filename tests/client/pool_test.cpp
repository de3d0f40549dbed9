// Pool: size limit, acquire timeout, health checks, use from several threads.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "test_database.hpp"

using namespace ouroboros;

TEST_CASE("the pool lends at most max_size connections and times out") {
  PoolOptions options;
  options.max_size = 2;
  options.acquire_timeout = std::chrono::milliseconds(50);
  Pool pool(client_test::dsn(), options);
  {
    PooledConnection a = pool.acquire();
    PooledConnection b = pool.acquire();
    CHECK(a->backend_pid() != b->backend_pid());
    CHECK(pool.size() == 2);
    CHECK_THROWS_AS(pool.acquire(), PoolTimeout);
  }
  CHECK(pool.idle() == 2);
  PooledConnection again = pool.acquire();
  CHECK(again->query_value<int>("SELECT 1") == 1);
  CHECK(pool.size() == 2);
}

TEST_CASE("a broken idle connection is replaced; one left in a transaction is not reused") {
  PoolOptions options;
  options.max_size = 1;
  options.check_on_return = ReturnCheck::Close;
  Pool pool(client_test::dsn(), options);
  int first_pid = 0;
  {
    PooledConnection c = pool.acquire();
    first_pid = c->backend_pid();
  }
  {
    Connection killer = client_test::connect();
    CHECK(killer.query_value<bool>("SELECT pg_terminate_backend($1, 10000)", first_pid));
  }
  int second_pid = 0;
  {
    PooledConnection c = pool.acquire();  // health check finds it dead and reconnects
    second_pid = c->backend_pid();
    CHECK(second_pid != first_pid);
    CHECK(c->query_value<int>("SELECT 2") == 2);
    c->execute_script("BEGIN");  // returned mid-transaction: must be closed, not reused
  }
  CHECK(pool.size() == 0);
  PooledConnection c = pool.acquire();
  CHECK(c->backend_pid() != second_pid);
  CHECK_FALSE(c->in_transaction());
}

TEST_CASE("threads share a pool") {
  PoolOptions options;
  options.max_size = 3;
  options.acquire_timeout = std::chrono::seconds(30);
  Pool pool(client_test::dsn(), options);
  std::vector<std::thread> threads;
  std::atomic<long> total{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        PooledConnection c = pool.acquire();
        total += c->query_value<long>("SELECT $1::bigint", t * 10 + i);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(total == 59 * 60 / 2);
  CHECK(pool.size() <= 3);
}
