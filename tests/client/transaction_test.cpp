// Transactions: options, read-only enforcement, RAII rollback, savepoints, in-doubt COMMIT.
#include <doctest/doctest.h>

#include "test_database.hpp"

using namespace ouroboros;
using client_test::Table;

TEST_CASE("a read-only transaction rejects a write with 25006") {
  Connection conn = client_test::connect();
  Table t(conn, "ro", "n int");
  auto tx = conn.begin({std::nullopt, true});
  try {
    tx.execute("INSERT INTO " + t + " VALUES (1)");
    FAIL("expected TransactionStateError");
  } catch (const TransactionStateError& e) {
    CHECK(e.sqlstate() == "25006");
  }
}

TEST_CASE("SERIALIZABLE READ ONLY DEFERRABLE starts, with those settings") {
  Connection conn = client_test::connect();
  auto tx = conn.begin({Isolation::Serializable, true, true});
  Row row = tx.query(
                  "SELECT current_setting('transaction_isolation') AS iso, "
                  "current_setting('transaction_read_only') AS ro, "
                  "current_setting('transaction_deferrable') AS def")
                .one();
  CHECK(row.get<std::string>("iso") == "serializable");
  CHECK(row.get<std::string>("ro") == "on");
  CHECK(row.get<std::string>("def") == "on");
  tx.commit();
  auto rr = conn.begin({Isolation::RepeatableRead});
  CHECK(rr.query_value<std::string>("SELECT current_setting('transaction_isolation')") ==
        "repeatable read");
}

TEST_CASE("invalid option combinations are rejected before reaching the server") {
  Connection conn = client_test::connect();
  // The server would accept these (and ignore DEFERRABLE): nothing may have been sent.
  CHECK_THROWS_AS(conn.begin({Isolation::Serializable, false, true}), UsageError);
  CHECK_THROWS_AS(conn.begin({Isolation::RepeatableRead, true, true}), UsageError);
  CHECK_FALSE(conn.in_transaction());
  int runs = 0;
  CHECK_THROWS_AS(conn.transaction({std::nullopt, false, true}, [&](Transaction&) { ++runs; }),
                  UsageError);
  CHECK(runs == 0);
  CHECK_FALSE(conn.in_transaction());
}

TEST_CASE("RAII rollback, commit, and savepoints for nesting") {
  Connection conn = client_test::connect();
  Table t(conn, "raii", "n int");
  {
    auto tx = conn.begin();
    tx.execute("INSERT INTO " + t + " VALUES (1)");
  }  // not committed
  CHECK_FALSE(conn.in_transaction());
  CHECK(conn.query_value<long>("SELECT count(*) FROM " + t) == 0);

  {
    auto tx = conn.begin();
    tx.execute("INSERT INTO " + t + " VALUES (1)");
    {
      auto inner = tx.savepoint();
      inner.execute("INSERT INTO " + t + " VALUES (2)");
      inner.rollback();
    }
    {
      auto inner = tx.savepoint();
      inner.execute("INSERT INTO " + t + " VALUES (3)");
      {
        auto deeper = inner.savepoint();
        deeper.execute("INSERT INTO " + t + " VALUES (4)");
      }  // rolled back by RAII
      inner.commit();
    }
    {
      auto inner = tx.savepoint();  // a failed statement only spoils the savepoint
      CHECK_THROWS_AS(inner.execute("INSERT INTO " + t + " VALUES ('x')"), DataError);
    }
    CHECK_THROWS_AS(conn.begin(), UsageError);  // already in a transaction: nest instead
    tx.commit();
    CHECK_THROWS_AS(tx.commit(), UsageError);
  }
  CHECK(conn.query("SELECT n FROM " + t + " ORDER BY n").all<int>() == std::vector<int>{1, 3});
}

TEST_CASE("COMMIT of a failed transaction reports the rollback") {
  Connection conn = client_test::connect();
  auto tx = conn.begin();
  CHECK_THROWS_AS(tx.query("SELECT 1/0"), DataError);
  CHECK_THROWS_AS(tx.query("SELECT 1"), TransactionStateError);  // 25P02
  CHECK_THROWS_AS(tx.commit(), TransactionStateError);
  CHECK_FALSE(conn.in_transaction());
}

TEST_CASE("transaction() commits and returns the function's value") {
  Connection conn = client_test::connect();
  Table t(conn, "fn", "n int");
  int n = conn.transaction([&](Transaction& tx) {
    tx.execute("INSERT INTO " + t + " VALUES (5)");
    return tx.query_value<int>("SELECT sum(n)::int FROM " + t);
  });
  CHECK(n == 5);
  CHECK_THROWS_AS(conn.transaction([&](Transaction& tx) {
    tx.execute("INSERT INTO " + t + " VALUES (6)");
    throw std::runtime_error("application error");
  }),
                  std::runtime_error);
  CHECK(conn.query_value<long>("SELECT count(*) FROM " + t) == 1);
}

TEST_CASE("losing the connection during COMMIT is InDoubtError and is not retried") {
  Connection conn = client_test::connect();
  Connection killer = client_test::connect();
  Table t(killer, "doubt", "n int");
  int runs = 0;
  RetryPolicy retry;
  retry.sleep = [](std::chrono::milliseconds) {};
  try {
    conn.transaction({}, retry, [&](Transaction& tx) {
      ++runs;
      tx.execute("INSERT INTO " + t + " VALUES (1)");
      // The backend goes away between the last statement and COMMIT.
      CHECK(killer.query_value<bool>("SELECT pg_terminate_backend($1, 10000)", conn.backend_pid()));
    });
    FAIL("expected InDoubtError");
  } catch (const InDoubtError& e) {
    CHECK_FALSE(e.is_transient());
    CHECK(std::string(e.what()).find("COMMIT") != std::string::npos);
  }
  CHECK(runs == 1);
  CHECK_FALSE(conn.is_open());
}
