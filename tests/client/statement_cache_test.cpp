// The per-connection prepared-statement cache: LRU size, disabling, and transparent re-preparing.
#include <doctest/doctest.h>

#include "test_database.hpp"

using namespace ouroboros;
using client_test::Table;

namespace {
long prepared_on_server(Connection& conn) {
  // Run without the cache's help: count what this session holds.
  return conn.query_value<long>(
      "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'ouro_%'");
}
}  // namespace

TEST_CASE("the cache holds at most its size; LRU statements are deallocated") {
  ConnectOptions options;
  options.statement_cache_size = 2;
  Connection conn = client_test::connect(options);
  conn.query("SELECT 1");
  conn.query("SELECT 2");
  conn.query("SELECT 3");
  CHECK(conn.cached_statements() == 2);
  // The counting query itself is prepared too (evicting another); deallocations run before it.
  CHECK(prepared_on_server(conn) <= 3);
  CHECK(prepared_on_server(conn) == 2);
}

TEST_CASE("size 0 disables preparing") {
  ConnectOptions options;
  options.statement_cache_size = 0;
  Connection conn = client_test::connect(options);
  conn.query("SELECT $1::int", 1);
  CHECK(conn.cached_statements() == 0);
  CHECK(prepared_on_server(conn) == 0);
}

TEST_CASE("a statement deallocated behind the cache's back is prepared again (26000)") {
  Connection conn = client_test::connect();
  CHECK(conn.query_value<int>("SELECT $1::int + 1", 1) == 2);
  conn.execute_script("DEALLOCATE ALL");
  CHECK(conn.query_value<int>("SELECT $1::int + 1", 2) == 3);
}

TEST_CASE("a changed result type is prepared again ('cached plan must not change result type')") {
  Connection conn = client_test::connect();
  Table t(conn, "plan", "a int");
  conn.execute("INSERT INTO " + t + " VALUES (1)");
  const std::string sql = "SELECT * FROM " + t.name();
  CHECK(conn.query(sql).columns() == 1);
  conn.execute_script("ALTER TABLE " + t.name() + " ADD COLUMN b text DEFAULT 'new'");
  Result r = conn.query(sql);
  CHECK(r.columns() == 2);
  CHECK(r.one().get<std::string>("b") == "new");
}

TEST_CASE("inside a transaction the stale statement error surfaces, and the next run recovers") {
  Connection conn = client_test::connect();
  CHECK(conn.query_value<int>("SELECT $1::int * 2", 2) == 4);
  conn.execute_script("DEALLOCATE ALL");
  {
    auto tx = conn.begin();
    CHECK_THROWS_AS(tx.query_value<int>("SELECT $1::int * 2", 3), DatabaseError);
  }
  CHECK(conn.query_value<int>("SELECT $1::int * 2", 3) == 6);
}
