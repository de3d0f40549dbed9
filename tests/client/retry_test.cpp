// transaction(options, retry, fn) against real conflicts: a deadlock between two threads.
#include <doctest/doctest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "test_database.hpp"

using namespace ouroboros;
using client_test::Table;

TEST_CASE("a real deadlock: one side is retried and each commits exactly once") {
  Connection setup = client_test::connect();
  Table accounts(setup, "deadlock", "id int PRIMARY KEY, touched int NOT NULL DEFAULT 0");
  Table log(setup, "deadlock_log", "who text NOT NULL");
  setup.execute("INSERT INTO " + accounts + " VALUES (1), (2)");

  std::barrier both_hold_first_lock(2);
  std::atomic<int> deadlocks{0};
  auto worker = [&](int first, int second, const char* who, int& attempts) {
    Connection conn = client_test::connect();
    RetryPolicy retry;
    retry.max_attempts = 5;
    retry.initial =
        std::chrono::milliseconds(20);  // real backoff: the winner usually commits first
    conn.transaction({}, retry, [&](Transaction& tx) {
      ++attempts;
      tx.execute("UPDATE " + accounts + " SET touched = touched + 1 WHERE id = $1", first);
      if (attempts == 1) both_hold_first_lock.arrive_and_wait();
      try {
        tx.execute("UPDATE " + accounts + " SET touched = touched + 1 WHERE id = $1", second);
      } catch (const DeadlockError&) {
        ++deadlocks;
        throw;
      }
      tx.execute("INSERT INTO " + log + " VALUES ($1)", who);
    });
  };
  int attempts_a = 0, attempts_b = 0;
  std::thread a([&] { worker(1, 2, "a", attempts_a); });
  std::thread b([&] { worker(2, 1, "b", attempts_b); });
  a.join();
  b.join();

  // The first attempts always deadlock. An immediate retry can race the winner into a second
  // deadlock; whatever happened, every deadlock cost exactly one re-run and each side committed
  // once.
  CHECK(deadlocks >= 1);
  CHECK(attempts_a + attempts_b == 2 + deadlocks);
  CHECK(setup.query("SELECT who FROM " + log + " ORDER BY who").all<std::string>() ==
        std::vector<std::string>{"a", "b"});
  CHECK(setup.query("SELECT touched FROM " + accounts + " ORDER BY id").all<int>() ==
        std::vector<int>{2, 2});
}

TEST_CASE("a unique violation is not retried") {
  Connection conn = client_test::connect();
  Table t(conn, "unique", "id int PRIMARY KEY");
  conn.execute("INSERT INTO " + t + " VALUES (1)");
  int runs = 0, sleeps = 0;
  RetryPolicy retry;
  retry.sleep = [&](std::chrono::milliseconds) { ++sleeps; };
  CHECK_THROWS_AS(conn.transaction({}, retry,
                                   [&](Transaction& tx) {
                                     ++runs;
                                     tx.execute("INSERT INTO " + t + " VALUES (1)");
                                   }),
                  ConflictError);
  CHECK(runs == 1);
  CHECK(sleeps == 0);
  CHECK_FALSE(conn.in_transaction());
}

TEST_CASE("a serialization failure is retried until the transaction commits") {
  Connection conn = client_test::connect();
  Connection other = client_test::connect();
  Table t(conn, "retry_serial", "id int PRIMARY KEY, v int");
  conn.execute("INSERT INTO " + t + " VALUES (1, 0)");
  int runs = 0;
  std::vector<std::chrono::milliseconds> slept;
  RetryPolicy retry;
  retry.initial = std::chrono::milliseconds(7);
  retry.jitter = 0;
  retry.sleep = [&](std::chrono::milliseconds d) { slept.push_back(d); };
  conn.transaction({Isolation::Serializable}, retry, [&](Transaction& tx) {
    ++runs;
    int v = tx.query_value<int>("SELECT v FROM " + t + " WHERE id = 1");
    if (runs == 1) other.execute("UPDATE " + t + " SET v = v + 100 WHERE id = 1");
    tx.execute("UPDATE " + t + " SET v = $1 WHERE id = 1", v + 1);
  });
  CHECK(runs == 2);
  CHECK(slept == std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(7)});
  CHECK(conn.query_value<int>("SELECT v FROM " + t + " WHERE id = 1") == 101);
}
