#include "session/sql_prepared_statements.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "session/client_session_state.h"
#include "sql/session_statement.h"

using namespace ouroboros;
using namespace ouroboros::session;

namespace {

sql::SessionStatementClassifier& classifier() {
  static sql::SessionStatementClassifier c;
  return c;
}

// Every statement of `text` completes (or, from `failing` on, the first fails and nothing after
// runs).
void run(ClientSqlStatements& client, std::string_view text,
         std::optional<std::string> search_path = {}, std::size_t failing = 1000) {
  const sql::Classification c = classifier().classify(text);
  for (std::size_t i = 0; i < c.statements.size() && i <= failing; ++i)
    client.on_statement(c.statements[i], i != failing, search_path);
}

constexpr ServerSqlStatements::Owner kA = 1;
constexpr ServerSqlStatements::Owner kB = 2;
using Result = ServerSqlStatements::SyncResult::Kind;

using Sql = std::vector<std::string>;

// The alignment of `server` to `client` ran to the end.
Sql sync(ServerSqlStatements& server, ServerSqlStatements::Owner owner,
         const ClientSqlStatements& client, std::optional<std::string> search_path_now = {}) {
  Sql sql = server.begin_sync(owner, client.version(), client.statements(), search_path_now);
  if (!sql.empty()) CHECK(server.finish_sync(true, 0).kind == Result::Done);
  return sql;
}

}  // namespace

TEST_CASE(
    "a client's statements: PREPARE, DEALLOCATE, DEALLOCATE ALL, DISCARD ALL; failures change "
    "nothing") {
  ClientSqlStatements c;
  run(c, "PREPARE a AS SELECT 1; PREPARE \"B\" (int) AS SELECT $1");
  REQUIRE(c.statements().size() == 2);
  CHECK(c.statements().at("a").text == "PREPARE a AS SELECT 1");
  CHECK(c.statements().at("B").text == "PREPARE \"B\" (int) AS SELECT $1");
  const auto v = c.version();
  run(c, "PREPARE x AS SELECT 1", {}, 0);  // failed (e.g. 42P05): nothing
  CHECK_FALSE(c.contains("x"));
  CHECK(c.version() == v);
  run(c, "DEALLOCATE a");
  CHECK_FALSE(c.contains("a"));
  CHECK(c.version() != v);
  run(c, "DEALLOCATE ALL");
  CHECK(c.statements().empty());
  run(c, "PREPARE a AS SELECT 2; SELECT 1/0", {},
      1);  // PREPARE is not undone by the failure after it
  CHECK(c.contains("a"));
  run(c, "DISCARD ALL");
  CHECK(c.statements().empty());
  run(c, "SET search_path = s1; PREPARE p AS SELECT * FROM t", std::string("s1"));
  CHECK(c.statements().at("p").search_path == "s1");
  c.forget("p");
  CHECK(c.statements().empty());
}

TEST_CASE(
    "ClientSessionState follows PREPARE outside transaction semantics, with the search_path in "
    "force") {
  ClientSessionState s(pool::Settings{}, {});
  s.query(
      classifier().classify("BEGIN; SET LOCAL search_path = s2; PREPARE q AS SELECT 1; ROLLBACK"));
  for (int i = 0; i < 4; ++i) s.statement_completed();
  s.ready_for_query('I');
  // ROLLBACK keeps a PREPARE, as in PostgreSQL.
  REQUIRE(s.sql_statements().contains("q"));
  CHECK(s.sql_statements().statements().at("q").search_path == "s2");
  CHECK(s.sql_statements().statements().at("q").text == "PREPARE q AS SELECT 1");
  s.query(classifier().classify("DEALLOCATE q"));
  s.statement_completed();
  s.ready_for_query('I');
  CHECK_FALSE(s.sql_statements().contains("q"));
}

TEST_CASE(
    "a server: another client's names are deallocated, the client's own prepared, nothing when "
    "equal") {
  ClientSqlStatements a, b;
  run(a, "PREPARE p AS SELECT 'a'; PREPARE only_a AS SELECT 1");
  run(b, "PREPARE p AS SELECT 'b'");
  ServerSqlStatements server;

  // A fresh server and a client without statements: nothing to do.
  ClientSqlStatements none;
  CHECK(sync(server, kB, none).empty());

  CHECK(sync(server, kA, a) == Sql{"PREPARE only_a AS SELECT 1", "PREPARE p AS SELECT 'a'"});
  CHECK(server.owner() == kA);
  // The same client again, nothing changed: one comparison.
  CHECK(sync(server, kA, a).empty());

  // B uses the same name with another text: A's goes first, B's is prepared.
  CHECK(sync(server, kB, b) ==
        Sql{"DEALLOCATE \"only_a\"", "DEALLOCATE \"p\"", "PREPARE p AS SELECT 'b'"});
  CHECK(server.statements().size() == 1);
  CHECK(server.statements().at("p").text == "PREPARE p AS SELECT 'b'");

  // A client that never prepared anything gets a server without B's.
  CHECK(sync(server, 3, none) == Sql{"DEALLOCATE \"p\""});
  CHECK(server.statements().empty());

  // Two clients with identical statements share them: no SQL when one follows the other.
  ClientSqlStatements a2;
  run(a2, "PREPARE p AS SELECT 'a'; PREPARE only_a AS SELECT 1");
  sync(server, kA, a);
  CHECK(sync(server, 4, a2).empty());
  CHECK(server.owner() == 4);
}

TEST_CASE(
    "a server: the client's statements after its transaction; DEALLOCATE ALL / DISCARD ALL on the "
    "server") {
  ClientSqlStatements a;
  ServerSqlStatements server;
  sync(server, kA, a);
  run(a, "PREPARE n AS SELECT 1");  // ran on this server while linked
  server.now_holds(kA, a);
  CHECK(server.statements().count("n") == 1);
  CHECK(sync(server, kA, a).empty());
  server.clear();
  CHECK(server.statements().empty());
  CHECK(sync(server, kA, a) == Sql{"PREPARE n AS SELECT 1"});
  // Names that need quoting.
  ClientSqlStatements q;
  run(q, "PREPARE \"we\"\"ird\" AS SELECT 1");
  CHECK(sync(server, kB, q) == Sql{"DEALLOCATE \"n\"", "PREPARE \"we\"\"ird\" AS SELECT 1"});
  CHECK(quote_sql_identifier("a\"b") == "\"a\"\"b\"");
}

TEST_CASE(
    "a server: a statement prepared under another search_path gets that search_path for its "
    "PREPARE") {
  ClientSqlStatements a;
  run(a, "PREPARE p1 AS SELECT * FROM t", std::string("s1"));
  run(a, "PREPARE p2 AS SELECT * FROM t");
  run(a, "PREPARE p3 AS SELECT * FROM t", std::string("s1, 'x''y'"));
  ServerSqlStatements server;
  // The client's search_path now is s1: p1 needs nothing, p2 the server default, p3 its own.
  CHECK(sync(server, kA, a, std::string("s1")) ==
        Sql{"PREPARE p1 AS SELECT * FROM t",
            "SELECT pg_catalog.set_config('search_path', reset_val, true) FROM "
            "pg_catalog.pg_settings WHERE name = "
            "'search_path'",
            "PREPARE p2 AS SELECT * FROM t",
            "SELECT pg_catalog.set_config('search_path', 's1, ''x''''y''', true)",
            "PREPARE p3 AS SELECT * FROM t"});
  // The same text under another search_path is another statement.
  ClientSqlStatements b;
  run(b, "PREPARE p1 AS SELECT * FROM t", std::string("s2"));
  CHECK(sync(server, kB, b, std::string("s2")) == Sql{"DEALLOCATE \"p1\"", "DEALLOCATE \"p2\"",
                                                      "DEALLOCATE \"p3\"",
                                                      "PREPARE p1 AS SELECT * FROM t"});
}

TEST_CASE("a server: an alignment that failed keeps exactly what ran") {
  ClientSqlStatements a, b;
  run(a, "PREPARE x AS SELECT 1");
  run(b, "PREPARE p1 AS SELECT 1; PREPARE p2 AS SELECT * FROM dropped; PREPARE p3 AS SELECT 3");
  ServerSqlStatements server;
  sync(server, kA, a);

  SUBCASE("a PREPARE failed: the DEALLOCATE and the PREPAREs before it stay") {
    // DEALLOCATE x and PREPARE p1 completed, then p2 failed (and p3 never ran).
    CHECK(server.begin_sync(kB, b.version(), b.statements(), {}).size() == 4);
    const auto result = server.finish_sync(false, 2);
    CHECK(result.kind == Result::PrepareFailed);
    CHECK(result.name == "p2");
    CHECK(server.statements().size() == 1);
    CHECK(server.statements().count("p1") == 1);
    CHECK(server.owner() == 0);
    // The client forgets it; the next alignment prepares only what is missing.
    b.forget("p2");
    CHECK(sync(server, kB, b) == Sql{"PREPARE p3 AS SELECT 3"});
  }
  SUBCASE("the client's settings failed, in the query before the batch: the batch ran") {
    CHECK_FALSE(server.begin_sync(kB, b.version(), b.statements(), {}).empty());
    CHECK(server.finish_sync(false, 4).kind == Result::NotReached);
    CHECK(server.statements() == b.statements());
    CHECK(server.owner() == kB);
  }
  SUBCASE("a DEALLOCATE failed: the record was wrong") {
    CHECK_FALSE(server.begin_sync(kB, b.version(), b.statements(), {}).empty());
    CHECK(server.finish_sync(false, 0).kind == Result::DeallocateFailed);
  }
  SUBCASE("no alignment running") {
    CHECK(server.finish_sync(true, 5).kind == Result::None);
  }
}
