// Every error class provoked for real and caught as its class.
#include <doctest/doctest.h>

#include "test_database.hpp"

using namespace ouroboros;
using client_test::Table;

TEST_CASE("integrity violations carry their constraint, table and column") {
  Connection conn = client_test::connect();
  Table parent(conn, "parent", "id int PRIMARY KEY");
  Table child(conn, "child",
              "id int PRIMARY KEY, parent_id int REFERENCES " + parent.name() +
                  ", qty int NOT NULL CHECK (qty > 0), during int4range, "
                  "EXCLUDE USING gist (during WITH &&)");
  conn.execute("INSERT INTO " + parent + " VALUES (1)");
  conn.execute("INSERT INTO " + child + " VALUES (1, 1, 5, '[1,5)')");

  try {
    conn.execute("INSERT INTO " + parent + " VALUES ($1)", 1);
    FAIL("expected ConflictError");
  } catch (const ConflictError& e) {
    CHECK(e.sqlstate() == "23505");
    CHECK(e.table() == parent.name());
    CHECK(e.constraint() == parent.name() + "_pkey");
    CHECK(!e.detail().empty());
    CHECK(e.query().find("INSERT INTO") != std::string::npos);
    CHECK(e.severity() == "ERROR");
    CHECK_FALSE(e.is_transient());
  }
  CHECK_THROWS_AS(conn.execute("INSERT INTO " + child + " VALUES (2, 99, 1, NULL)"),
                  ForeignKeyError);
  try {
    conn.execute("INSERT INTO " + child + " VALUES (3, 1, NULL, NULL)");
    FAIL("expected NotNullError");
  } catch (const NotNullError& e) {
    CHECK(e.column() == "qty");
  }
  CHECK_THROWS_AS(conn.execute("INSERT INTO " + child + " VALUES (4, 1, 0, NULL)"), CheckError);
  CHECK_THROWS_AS(conn.execute("INSERT INTO " + child + " VALUES (5, 1, 1, '[3,8)')"),
                  ExclusionError);
  CHECK_THROWS_AS(conn.execute("INSERT INTO " + child + " VALUES (5, 1, 1, '[3,8)')"),
                  IntegrityError);
}

TEST_CASE("data, syntax, undefined objects and permissions") {
  Connection conn = client_test::connect();
  CHECK_THROWS_AS(conn.query("SELECT 1 / $1::int", 0), DataError);
  CHECK_THROWS_AS(conn.query("SELECT $1::int", "not a number"), DataError);
  try {
    conn.query("SELEC 1");
    FAIL("expected SyntaxError");
  } catch (const SyntaxError& e) {
    CHECK(e.sqlstate() == "42601");
    CHECK(e.report().position.has_value());
  }
  CHECK_THROWS_AS(conn.query("SELECT * FROM no_such_table_anywhere"), UndefinedTable);
  CHECK_THROWS_AS(conn.query("SELECT no_such_column FROM pg_class"), UndefinedColumn);
  CHECK_THROWS_AS(conn.query("SELECT no_such_function(1)"), UndefinedFunction);
  CHECK_THROWS_AS(conn.query("SELECT * FROM pg_authid"), PermissionDenied);
  // The connection is still usable after all of these.
  CHECK(conn.query_value<int>("SELECT 7") == 7);
}

TEST_CASE("statement timeout is QueryCanceled") {
  Connection conn = client_test::connect();
  auto tx = conn.begin();
  tx.execute("SELECT set_config('statement_timeout', '50ms', true)");
  CHECK_THROWS_AS(tx.execute("SELECT pg_sleep(10)"), QueryCanceled);
}

TEST_CASE("a terminated backend is a ConnectionError") {
  Connection conn = client_test::connect();
  try {
    conn.query("SELECT pg_terminate_backend(pg_backend_pid())");
    FAIL("expected ConnectionError");
  } catch (const ConnectionError& e) {
    CHECK(e.is_transient());
  }
  CHECK_FALSE(conn.is_open());
  CHECK_FALSE(conn.ping());
  CHECK_THROWS_AS(conn.query("SELECT 1"), ConnectionError);
}

TEST_CASE("a serialization failure for real") {
  Connection a = client_test::connect();
  Connection b = client_test::connect();
  Table t(a, "serial", "id int PRIMARY KEY, v int");
  a.execute("INSERT INTO " + t + " VALUES (1, 0)");
  auto tx = a.begin({Isolation::RepeatableRead});
  CHECK(tx.query_value<int>("SELECT v FROM " + t + " WHERE id = 1") == 0);  // snapshot taken
  b.execute("UPDATE " + t + " SET v = 1 WHERE id = 1");
  try {
    tx.execute("UPDATE " + t + " SET v = 2 WHERE id = 1");
    FAIL("expected SerializationError");
  } catch (const SerializationError& e) {
    CHECK(e.sqlstate() == "40001");
    CHECK(e.is_transient());
  }
}
