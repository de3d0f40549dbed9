#include "session/session_state_tracker.h"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "session_feed.h"
#include "sql/session_statement.h"

using namespace ouroboros;
using namespace ouroboros::session;
using test::query;

namespace {

std::optional<std::string> refusal(std::string_view sql) {
  sql::SessionStatementClassifier classifier;
  const sql::Classification result = classifier.classify(sql);
  REQUIRE(result.statements.size() == 1);
  return SessionStateTracker::refusal(result.statements[0]);
}

}  // namespace

TEST_CASE("a fresh session is not pinned") {
  SessionStateTracker t;
  CHECK_FALSE(t.pinned());
  CHECK(t.pin_reason() == PinReason::None);
  CHECK(t.reason() == "");
  query(t, "SELECT 1; INSERT INTO t VALUES (1); CREATE TABLE p (a int)", 'I');
  CHECK_FALSE(t.pinned());
}

TEST_CASE("temporary objects pin until dropped or discarded") {
  SessionStateTracker t;
  query(t, "CREATE TEMP TABLE a (x int)", 'I');
  CHECK(t.pinned());
  CHECK(t.reason() == "temporary table");
  CHECK(t.temp_objects() == std::map<std::string, std::string>{{"a", "table"}});
  query(t, "CREATE TEMP VIEW v AS SELECT 1; CREATE TEMP SEQUENCE s", 'I');
  CHECK(t.temp_objects().size() == 3);
  query(t, "DROP TABLE a; DROP VIEW v", 'I');
  CHECK(t.pinned());
  query(t, "DROP SEQUENCE pg_temp.s", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "CREATE TEMP TABLE b (); CREATE TABLE pg_temp.c ()", 'I');
  query(t, "DISCARD TEMP", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "CREATE TEMP TABLE b ()", 'I');
  query(t, "DISCARD ALL", 'I');
  CHECK_FALSE(t.pinned());
  // ON COMMIT DROP ends with the transaction: nothing to pin.
  query(t, "BEGIN; CREATE TEMP TABLE d () ON COMMIT DROP; COMMIT", 'I');
  CHECK_FALSE(t.pinned());
  // Dropping a permanent table of another name changes nothing.
  query(t, "CREATE TEMP TABLE e ()", 'I');
  query(t, "DROP TABLE public.e", 'I');
  CHECK(t.pinned());
}

TEST_CASE("temporary objects follow transactions and savepoints") {
  SessionStateTracker t;
  query(t, "BEGIN; CREATE TEMP TABLE a ()", 'T');
  CHECK(t.pinned());
  query(t, "ROLLBACK", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "BEGIN; SAVEPOINT s; CREATE TEMP TABLE a ()", 'T');
  query(t, "ROLLBACK TO s; COMMIT", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "CREATE TEMP TABLE a (); SELECT 1/0", 'I', 1);
  CHECK_FALSE(t.pinned());
  query(t, "CREATE TEMP TABLE a ()", 'I');
  query(t, "BEGIN; DROP TABLE a; ROLLBACK", 'I');
  CHECK(t.pinned());
  // A CREATE that failed (the table exists) does not count.
  query(t, "CREATE TEMP TABLE b ()", 'I', 0);
  CHECK(t.temp_objects().count("b") == 0);
}

TEST_CASE("session advisory locks: counted per key, untouched by ROLLBACK") {
  SessionStateTracker t;
  query(t, "SELECT pg_advisory_lock(1)", 'I');
  query(t, "SELECT pg_advisory_lock(1)", 'I');
  query(t, "SELECT pg_advisory_lock_shared(2, 3)", 'I');
  CHECK(t.pinned());
  CHECK(t.reason() == "session advisory lock");
  CHECK(t.advisory_locks() == 3);
  query(t, "SELECT pg_advisory_unlock(1)", 'I');
  CHECK(t.advisory_locks() == 2);
  // The shared lock is released by the _shared unlock only.
  query(t, "SELECT pg_advisory_unlock(2, 3)", 'I');
  CHECK(t.advisory_locks() == 2);
  query(t, "SELECT pg_advisory_unlock_shared(2, 3)", 'I');
  query(t, "SELECT pg_advisory_unlock(1)", 'I');
  CHECK_FALSE(t.pinned());
  // An unlock of a key never locked changes nothing.
  query(t, "SELECT pg_advisory_unlock(9)", 'I');
  CHECK(t.advisory_locks() == 0);
  // Session locks survive a rollback, as in PostgreSQL.
  query(t, "BEGIN; SELECT pg_advisory_lock(5); ROLLBACK", 'I');
  CHECK(t.advisory_locks() == 1);
  query(t, "SELECT pg_advisory_unlock_all()", 'I');
  CHECK_FALSE(t.pinned());
  // A lock call that failed (lock_timeout, cancel) is not counted.
  query(t, "SELECT pg_advisory_lock(6)", 'I', 0);
  CHECK_FALSE(t.pinned());
  // Transaction-scoped locks never pin.
  query(t, "SELECT pg_advisory_xact_lock(7)", 'I');
  CHECK_FALSE(t.pinned());
  // Computed keys only match computed keys; the server can say all are gone.
  query(t, "SELECT pg_try_advisory_lock(id) FROM jobs LIMIT 1", 'I');
  CHECK(t.pinned());
  CHECK(t.advisory_locks_uncertain());
  query(t, "SELECT pg_advisory_unlock(8)", 'I');
  CHECK(t.pinned());
  t.advisory_locks_released();
  CHECK_FALSE(t.pinned());
  query(t, "SELECT pg_advisory_lock(1)", 'I');
  query(t, "DISCARD ALL", 'I');
  CHECK_FALSE(t.pinned());
}

TEST_CASE("try-locks and computed keys make the count uncertain until the server says") {
  SessionStateTracker t;
  query(t, "SELECT pg_advisory_lock(1)", 'I');
  CHECK_FALSE(t.advisory_locks_uncertain());  // a plain lock call that succeeded is held
  query(t, "SELECT pg_try_advisory_lock(2)", 'I');
  CHECK(t.advisory_locks_uncertain());
  query(t, "SELECT pg_advisory_unlock(2)", 'I');
  CHECK(t.advisory_locks_uncertain());  // still unsure of key 1's company: ask the server
  query(t, "SELECT pg_advisory_unlock(1)", 'I');
  CHECK_FALSE(t.advisory_locks_uncertain());  // nothing counted
  CHECK_FALSE(t.pinned());
  query(t, "SELECT pg_advisory_lock(hashtext('job'))", 'I');
  CHECK(t.advisory_locks_uncertain());
  t.advisory_locks_released();
  CHECK_FALSE(t.pinned());
  CHECK_FALSE(t.advisory_locks_uncertain());
  query(t, "SELECT pg_try_advisory_lock_shared(3)", 'I');
  query(t, "SELECT pg_advisory_unlock_all()", 'I');
  CHECK_FALSE(t.advisory_locks_uncertain());
}

TEST_CASE("WITH HOLD cursors pin until closed") {
  SessionStateTracker t;
  query(t, "DECLARE c CURSOR FOR SELECT 1", 'I', 0);  // without HOLD: error outside a block
  query(t, "BEGIN; DECLARE c CURSOR FOR SELECT 1; COMMIT", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "DECLARE c CURSOR WITH HOLD FOR SELECT 1", 'I');
  CHECK(t.pinned());
  CHECK(t.reason() == "WITH HOLD cursor");
  CHECK(t.hold_cursors() == std::set<std::string>{"c"});
  query(t, "CLOSE c", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "DECLARE c1 CURSOR WITH HOLD FOR SELECT 1; DECLARE c2 CURSOR WITH HOLD FOR SELECT 2",
        'I');
  query(t, "CLOSE ALL", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT 1; ROLLBACK", 'I');
  CHECK_FALSE(t.pinned());
}

TEST_CASE("LOAD pins for good") {
  SessionStateTracker t;
  query(t, "LOAD 'auto_explain'", 'I');
  CHECK(t.pinned());
  CHECK(t.reason() == "LOAD");
  query(t, "DISCARD ALL", 'I');
  CHECK(t.loaded());
  CHECK(t.pinned());
}

TEST_CASE("SET SESSION AUTHORIZATION pins until reset, with transaction semantics") {
  SessionStateTracker t;
  query(t, "SET SESSION AUTHORIZATION alice", 'I');
  CHECK(t.pin_reason() == PinReason::SessionAuthorization);
  CHECK(t.reason() == "SET SESSION AUTHORIZATION");
  query(t, "RESET ALL", 'I');  // leaves the session user alone, as in PostgreSQL
  CHECK(t.pinned());
  query(t, "RESET SESSION AUTHORIZATION", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "SET SESSION AUTHORIZATION 'bob'", 'I');
  query(t, "SET SESSION AUTHORIZATION DEFAULT", 'I');
  CHECK_FALSE(t.pinned());
  // Rolled back with its transaction; the LOCAL form ends with it.
  query(t, "BEGIN; SET SESSION AUTHORIZATION alice; ROLLBACK", 'I');
  CHECK_FALSE(t.pinned());
  query(t, "BEGIN; SET LOCAL SESSION AUTHORIZATION alice; COMMIT", 'I');
  CHECK_FALSE(t.pinned());
  // set_config() sets it too; DISCARD ALL resets it.
  query(t, "SELECT set_config('session_authorization', 'alice', false)", 'I');
  CHECK(t.pinned());
  query(t, "DISCARD ALL", 'I');
  CHECK_FALSE(t.pinned());
  // SET ROLE follows the client as a setting and pins nothing.
  query(t, "SET ROLE alice", 'I');
  CHECK_FALSE(t.pinned());
}

TEST_CASE("the first reason in order is reported") {
  SessionStateTracker t;
  query(t, "LOAD 'x'; SELECT pg_advisory_lock(1); CREATE TEMP TABLE t ()", 'I');
  CHECK(t.pin_reason() == PinReason::TemporaryObject);
  query(t, "DISCARD TEMP", 'I');
  CHECK(t.pin_reason() == PinReason::AdvisoryLock);
  query(t, "SELECT pg_advisory_unlock_all()", 'I');
  CHECK(t.pin_reason() == PinReason::Load);
}

TEST_CASE("LISTEN channels and prepared statement names do not pin") {
  SessionStateTracker t;
  query(t, "LISTEN a; LISTEN b", 'I');
  query(t, "PREPARE p AS SELECT 1", 'I');
  CHECK_FALSE(t.pinned());
  CHECK(t.listen_channels() == std::set<std::string>{"a", "b"});
  CHECK(t.prepared_statements() == std::set<std::string>{"p"});
  query(t, "UNLISTEN a", 'I');
  CHECK(t.listen_channels() == std::set<std::string>{"b"});
  // LISTEN takes effect at commit.
  query(t, "BEGIN; LISTEN c; ROLLBACK", 'I');
  CHECK(t.listen_channels() == std::set<std::string>{"b"});
  query(t, "UNLISTEN *", 'I');
  CHECK(t.listen_channels().empty());
  // Prepared statements are not transactional.
  query(t, "BEGIN; PREPARE q AS SELECT 1; ROLLBACK", 'I');
  CHECK(t.prepared_statements() == std::set<std::string>{"p", "q"});
  query(t, "DEALLOCATE p", 'I');
  CHECK(t.prepared_statements() == std::set<std::string>{"q"});
  query(t, "DEALLOCATE ALL", 'I');
  CHECK(t.prepared_statements().empty());
}

TEST_CASE("session_state: refuse names the statement and what it would pin") {
  CHECK(refusal("CREATE TEMP TABLE t (a int)") ==
        "CREATE TABLE is not supported in transaction pooling mode with session_state: refuse: "
        "it would leave a temporary table (\"t\") that pins the connection to one server");
  CHECK(refusal("SELECT pg_advisory_lock(42)") ==
        "SELECT is not supported in transaction pooling mode with session_state: refuse: it "
        "would leave a session advisory lock (key 42) that pins the connection to one server");
  CHECK(refusal("DECLARE c CURSOR WITH HOLD FOR SELECT 1")->find("WITH HOLD cursor (\"c\")") !=
        std::string::npos);
  CHECK(refusal("LOAD 'auto_explain'")->rfind("LOAD is not supported", 0) == 0);
  CHECK(refusal("SET SESSION AUTHORIZATION alice") ==
        "SET is not supported in transaction pooling mode with session_state: refuse: it would "
        "leave a changed session user that pins the connection to one server");
  CHECK(refusal("RESET SESSION AUTHORIZATION") == std::nullopt);
  CHECK(refusal("SET LOCAL SESSION AUTHORIZATION alice") == std::nullopt);
  CHECK(refusal("CREATE TEMP TABLE t () ON COMMIT DROP") == std::nullopt);
  CHECK(refusal("SELECT pg_advisory_xact_lock(1)") == std::nullopt);
  CHECK(refusal("SET work_mem = '1MB'") == std::nullopt);
  CHECK(refusal("LISTEN c") == std::nullopt);
}

TEST_CASE("describe_pinning_state names everything that pins") {
  SessionStateTracker t;
  CHECK(t.describe_pinning_state() == "");
  query(t, "CREATE TEMP TABLE a (x int); CREATE TEMP VIEW v AS SELECT 1", 'I');
  query(t, "SELECT pg_advisory_lock(1); SELECT pg_advisory_lock_shared(2)", 'I');
  query(t, "DECLARE c CURSOR WITH HOLD FOR SELECT 1", 'I');
  query(t, "LOAD 'auto_explain'", 'I');
  query(t, "SET SESSION AUTHORIZATION alice", 'I');
  CHECK(t.describe_pinning_state() ==
        "temporary table \"a\", temporary view \"v\", 2 session advisory locks, WITH HOLD cursor \"c\", LOAD, "
        "SET SESSION AUTHORIZATION");
  query(t, "DISCARD ALL", 'I');
  CHECK(t.describe_pinning_state() == "LOAD");
}
