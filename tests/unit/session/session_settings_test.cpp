#include "session/session_settings.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "session_feed.h"

using namespace ouroboros;
using namespace ouroboros::session;
using test::query;

namespace {

SessionSettings plain() {
  return SessionSettings(SessionSettings::Values{});
}

std::optional<std::string> none() {
  return std::nullopt;
}

}  // namespace

TEST_CASE("start-up values from the startup packet and options=-c") {
  SessionSettings s(
      pool::StartupParameters{{"application_name", "app"},
                              {"options", "-c DateStyle=Postgres,MDY -c work_mem=8MB"},
                              {"TimeZone", "UTC"}});
  CHECK(s.value("DateStyle") == "Postgres,MDY");
  CHECK(s.value("work_mem") == "8MB");
  CHECK(s.value("timezone") == "UTC");
  CHECK(s.value("application_name") == "app");
  CHECK(s.value("search_path") == none());
  CHECK(s.expected() == s.startup());
}

TEST_CASE("SET sticks in autocommit; RESET gives the start-up value or the server default") {
  SessionSettings s(SessionSettings::Values{{"datestyle", "Postgres,MDY"}});
  query(s, "SET statement_timeout = '1234ms'", 'I');
  CHECK(s.value("statement_timeout") == "1234ms");
  query(s, "SET DateStyle = ISO", 'I');
  CHECK(s.value("datestyle") == "iso");
  query(s, "RESET DateStyle", 'I');
  CHECK(s.value("datestyle") == "Postgres,MDY");
  query(s, "RESET statement_timeout", 'I');
  CHECK(s.value("statement_timeout") == none());
  query(s, "SET work_mem = '1MB'; SET search_path = a, b", 'I');
  query(s, "RESET ALL", 'I');
  CHECK(s.expected() == s.startup());
  query(s, "SET work_mem = '1MB'", 'I');
  query(s, "DISCARD ALL", 'I');
  CHECK(s.expected() == s.startup());
}

TEST_CASE("names compare without case") {
  SessionSettings s = plain();
  query(s, "SET \"TimeZone\" = 'Europe/Rome'", 'I');
  CHECK(s.value("timezone") == "Europe/Rome");
  CHECK(s.value("TIMEZONE") == "Europe/Rome");
  query(s, "RESET timeZONE", 'I');
  CHECK(s.value("timezone") == none());
}

TEST_CASE("set_config(name, value, false) and (..., true)") {
  SessionSettings s = plain();
  query(s, "SELECT set_config('app.user', '42', false)", 'I');
  CHECK(s.value("app.user") == "42");
  query(s, "SELECT set_config('app.tenant', 't1', true)", 'I');
  CHECK(s.value("app.tenant") == none());
  query(s, "BEGIN", 'T');
  query(s, "SELECT set_config('app.tenant', 't1', true)", 'T');
  CHECK(s.value("app.tenant") == "t1");
  query(s, "COMMIT", 'I');
  CHECK(s.value("app.tenant") == none());
  CHECK(s.value("app.user") == "42");
}

TEST_CASE("a transaction's SETs stick at COMMIT and are undone at ROLLBACK") {
  SessionSettings s = plain();
  query(s, "BEGIN; SET work_mem = '2MB'", 'T');
  CHECK(s.value("work_mem") == "2MB");
  CHECK(s.in_transaction());
  query(s, "ROLLBACK", 'I');
  CHECK(s.value("work_mem") == none());
  query(s, "BEGIN", 'T');
  query(s, "SET work_mem = '3MB'", 'T');
  query(s, "COMMIT", 'I');
  CHECK(s.value("work_mem") == "3MB");
  CHECK_FALSE(s.in_transaction());
}

TEST_CASE("SET LOCAL ends with its transaction, whether it commits or not") {
  SessionSettings s(SessionSettings::Values{{"work_mem", "4MB"}});
  query(s, "BEGIN; SET LOCAL work_mem = '64MB'", 'T');
  CHECK(s.value("work_mem") == "64MB");
  query(s, "COMMIT", 'I');
  CHECK(s.value("work_mem") == "4MB");
  // SET then SET LOCAL: the session value comes back at commit.
  query(s, "BEGIN; SET work_mem = '8MB'; SET LOCAL work_mem = '16MB'", 'T');
  CHECK(s.value("work_mem") == "16MB");
  query(s, "COMMIT", 'I');
  CHECK(s.value("work_mem") == "8MB");
  // SET LOCAL then SET: the SET wins and sticks.
  query(s, "BEGIN; SET LOCAL work_mem = '16MB'; SET work_mem = '32MB'; COMMIT", 'I');
  CHECK(s.value("work_mem") == "32MB");
  // Outside a block SET LOCAL lasts for its implicit transaction only.
  query(s, "SET LOCAL work_mem = '1MB'", 'I');
  CHECK(s.value("work_mem") == "32MB");
}

TEST_CASE("savepoints: ROLLBACK TO undoes what came after it, RELEASE keeps it") {
  SessionSettings s = plain();
  query(s, "BEGIN; SET a.x = 1; SAVEPOINT one; SET a.x = 2; SET LOCAL a.y = 3", 'T');
  CHECK(s.value("a.x") == "2");
  CHECK(s.value("a.y") == "3");
  query(s, "ROLLBACK TO SAVEPOINT one", 'T');
  CHECK(s.value("a.x") == "1");
  CHECK(s.value("a.y") == none());
  // The savepoint stays after ROLLBACK TO; it can be rolled back to again.
  query(s, "SET a.x = 4", 'T');
  query(s, "ROLLBACK TO one", 'T');
  CHECK(s.value("a.x") == "1");
  query(s, "SAVEPOINT two; SET a.x = 5; RELEASE two", 'T');
  CHECK(s.value("a.x") == "5");
  // Released: ROLLBACK TO two is an error and changes nothing.
  query(s, "ROLLBACK TO two", 'E', 0);
  CHECK(s.value("a.x") == "5");
  // ROLLBACK TO one (before two) leaves the failed state and undoes the released SET too.
  query(s, "ROLLBACK TO one", 'T');
  CHECK(s.value("a.x") == "1");
  query(s, "COMMIT", 'I');
  CHECK(s.value("a.x") == "1");
}

TEST_CASE("duplicate savepoint names refer to the newest") {
  SessionSettings s = plain();
  query(s, "BEGIN; SAVEPOINT p; SET a.x = 1; SAVEPOINT p; SET a.x = 2", 'T');
  query(s, "ROLLBACK TO p", 'T');
  CHECK(s.value("a.x") == "1");
  query(s, "RELEASE p; ROLLBACK TO p", 'T');
  CHECK(s.value("a.x") == none());
  query(s, "COMMIT", 'I');
}

TEST_CASE("failed statements: a failed block rolls back, COMMIT of it too") {
  SessionSettings s = plain();
  query(s, "BEGIN; SET a.x = 1", 'T');
  query(s, "SELECT 1/0", 'E', 0);
  query(s, "SET a.x = 2", 'E', 0);  // 25P02: in a failed block everything fails
  query(s, "COMMIT", 'I');          // reports ROLLBACK
  CHECK(s.value("a.x") == none());
  // A SET that failed (bad value) changes nothing.
  query(s, "SET work_mem = 'lots'", 'I', 0);
  CHECK(s.value("work_mem") == none());
  // The COMMIT itself failing (deferred constraint) rolls the block back.
  query(s, "BEGIN; SET a.x = 3", 'T');
  query(s, "COMMIT", 'I', 0);
  CHECK(s.value("a.x") == none());
}

TEST_CASE("implicit transactions: a multi-statement query is one transaction") {
  SessionSettings s = plain();
  query(s, "SET a.x = 1; SELECT 1/0", 'I', 1);
  CHECK(s.value("a.x") == none());
  query(s, "SET a.x = 1; SELECT 1", 'I');
  CHECK(s.value("a.x") == "1");
  // An explicit COMMIT in the middle commits what came before it.
  query(s, "SET a.x = 2; COMMIT; SELECT 1/0", 'I', 2);
  CHECK(s.value("a.x") == "2");
  // BEGIN joins earlier statements into its block.
  query(s, "SET a.x = 3; BEGIN; SET a.y = 4; ROLLBACK", 'I');
  CHECK(s.value("a.x") == "2");
  CHECK(s.value("a.y") == none());
}

TEST_CASE("ReadyForQuery is the final word when a statement was not seen") {
  SessionSettings s = plain();
  query(s, "SET a.x = 1", 'T');  // a BEGIN the proxy did not classify (e.g. in a function)
  CHECK(s.in_transaction());
  query(s, "SELECT 1", 'E', 0);
  s.on_ready_for_query('I');
  CHECK(s.value("a.x") == none());
}

TEST_CASE("version changes exactly when the expected settings change") {
  SessionSettings s(SessionSettings::Values{{"work_mem", "4MB"}});
  const auto start = s.version();
  query(s, "SELECT 1", 'I');
  CHECK(s.version() == start);
  query(s, "SET work_mem = '4MB'", 'I');
  CHECK(s.version() == start);
  query(s, "SET work_mem = '5MB'", 'I');
  const auto changed = s.version();
  CHECK(changed != start);
  query(s, "BEGIN; SET LOCAL a.b = 1", 'T');
  CHECK(s.version() != changed);
  query(s, "ROLLBACK", 'I');
  CHECK(s.version() == changed);
  query(s, "RESET work_mem", 'I');
  CHECK(s.version() == start);
  // Name/value boundaries cannot be shifted to collide.
  SessionSettings a(SessionSettings::Values{{"ab", "c"}});
  SessionSettings b(SessionSettings::Values{{"a", "bc"}});
  CHECK(a.version() != b.version());
}

TEST_CASE("values that need reading back from the server") {
  SessionSettings s = plain();
  query(s, "SELECT set_config('work_mem', $1, false)", 'I');
  CHECK(s.pending_readback() == std::set<std::string>{"work_mem"});
  s.learned("Work_Mem", "7MB");
  CHECK(s.pending_readback().empty());
  CHECK(s.value("work_mem") == "7MB");
  query(s, "SELECT set_config(n, v, false) FROM t", 'I');
  CHECK(s.pending_readback() == std::set<std::string>{"*"});
  s.learned("app.a", "1");
  s.readback_complete();
  CHECK(s.pending_readback().empty());
  CHECK(s.value("app.a") == "1");
  // A local value ends with its transaction: nothing to read back.
  query(s, "BEGIN; SELECT set_config('work_mem', $1, true); SET LOCAL lock_timeout TO DEFAULT",
        'T');
  CHECK(s.pending_readback().empty());
  query(s, "COMMIT", 'I');
  // Learned inside a transaction, the value follows it.
  query(s, "BEGIN; SELECT set_config('work_mem', $1, false)", 'T');
  s.learned("work_mem", "9MB");
  CHECK(s.value("work_mem") == "9MB");
  query(s, "ROLLBACK", 'I');
  CHECK(s.value("work_mem") == "7MB");
}

TEST_CASE("diff: the SQL that brings a server to the client's settings") {
  SessionSettings s(SessionSettings::Values{{"application_name", "app"}});
  CHECK(s.diff({{"application_name", "app"}}) == "");
  CHECK(s.diff({}) == "SELECT pg_catalog.set_config('application_name', 'app', false);");
  query(s, "SET search_path = \"$user\", \"It's\", public", 'I');
  query(s, "SET app.note = 'back\\slash'", 'I');
  CHECK(s.diff({{"Application_Name", "app"}, {"work_mem", "1MB"}, {"server_version", "15.4"}}) ==
        "SELECT pg_catalog.set_config('app.note', E'back\\\\slash', false), "
        "pg_catalog.set_config('search_path', '\"$user\", \"It''s\", public', false); "
        "RESET \"work_mem\";");
  SessionSettings odd = plain();
  CHECK(odd.diff({{"my.odd\"name", "1"}}) == "RESET \"my\".\"odd\"\"name\";");
  CHECK(odd.diff({}) == "");
}
