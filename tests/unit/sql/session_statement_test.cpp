#include "sql/session_statement.h"
#include "sql/session_precheck.h"
#include "sql/query_shape.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ouroboros::sql;
using K = SessionEffectKind;

namespace {

// The effects of every statement of `text`, flattened, each as "kind name=value".
std::vector<std::string> effects(std::string_view text) {
  SessionStatementClassifier classifier;
  std::vector<std::string> out;
  const Classification result = classifier.classify(text);
  if (result.syntax_error) out.push_back("syntax error");
  for (const ClassifiedStatement& statement : result.statements) {
    for (const SessionEffect& effect : statement.effects) {
      std::string line(effect_name(effect.kind));
      if (!effect.name.empty() || !effect.value.empty()) line += " " + effect.name;
      if (!effect.value.empty()) line += "=" + effect.value;
      out.push_back(line);
    }
  }
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("SET, SET SESSION, SET LOCAL, RESET, RESET ALL") {
  CHECK(effects("SET statement_timeout = '1234ms'") == Lines{"set statement_timeout=1234ms"});
  CHECK(effects("set SESSION Work_Mem TO 65536") == Lines{"set work_mem=65536"});
  CHECK(effects("SET \"TimeZone\" = 'Europe/Rome'") == Lines{"set timezone=Europe/Rome"});
  CHECK(effects("SET LOCAL lock_timeout = '5s'") == Lines{"set_local lock_timeout=5s"});
  CHECK(effects("SET enable_seqscan = off") == Lines{"set enable_seqscan=off"});
  CHECK(effects("SET extra_float_digits = -3") == Lines{"set extra_float_digits=-3"});
  CHECK(effects("SET random_page_cost = 1.5") == Lines{"set random_page_cost=1.5"});
  CHECK(effects("SET myapp.user_id = '42'") == Lines{"set myapp.user_id=42"});
  CHECK(effects("SET work_mem TO DEFAULT") == Lines{"reset work_mem"});
  CHECK(effects("RESET DateStyle") == Lines{"reset datestyle"});
  CHECK(effects("RESET ALL") == Lines{"reset_all"});
  CHECK(effects("SET TIME ZONE 'UTC'") == Lines{"set timezone=UTC"});
  CHECK(effects("SET TIME ZONE LOCAL") == Lines{"reset timezone"});
  CHECK(effects("SET NAMES 'UTF8'") == Lines{"set client_encoding=UTF8"});
  CHECK(effects("SET SCHEMA 'app'") == Lines{"set search_path=app"});
  CHECK(effects("SET ROLE reporting") == Lines{"set role=reporting"});
  CHECK(effects("SET SESSION AUTHORIZATION alice") == Lines{"set session_authorization=alice"});
  // SET LOCAL ... TO DEFAULT and a value PostgreSQL computes are read back from the server.
  CHECK(effects("SET LOCAL work_mem TO DEFAULT") == Lines{"set_unknown work_mem=local"});
  CHECK(effects("SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE") == Lines{"set_unknown timezone"});
  // Transaction-scoped forms change nothing that outlives the transaction.
  CHECK(effects("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").empty());
  CHECK(effects("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ") ==
        Lines{"set default_transaction_isolation=repeatable read"});
}

TEST_CASE("list settings read as SHOW prints them") {
  CHECK(effects("SET search_path TO app, public") == Lines{"set search_path=app, public"});
  CHECK(effects("SET search_path = \"$user\", \"My Schema\", public") ==
        Lines{"set search_path=\"$user\", \"My Schema\", public"});
  CHECK(effects("SET search_path = 'a,b'") == Lines{"set search_path=\"a,b\""});
  CHECK(effects("SET DateStyle = ISO, MDY") == Lines{"set datestyle=iso, mdy"});
  CHECK(effects("SET DateStyle = 'ISO', 'MDY'") == Lines{"set datestyle=ISO, MDY"});
}

TEST_CASE("set_config with constant arguments") {
  CHECK(effects("SELECT set_config('search_path', 'a, b', false)") ==
        Lines{"set search_path=a, b"});
  CHECK(effects("select pg_catalog.set_config('App.User', 'x', true)") ==
        Lines{"set_local app.user=x"});
  CHECK(effects("SELECT set_config('work_mem', '1MB', 'off'::boolean)") ==
        Lines{"set work_mem=1MB"});
  CHECK(effects("SELECT set_config('work_mem', NULL, false)") == Lines{"reset work_mem"});
  CHECK(effects("SELECT set_config('a.b', '1', false), set_config('a.c', '2', true)") ==
        Lines{"set a.b=1", "set_local a.c=2"});
  CHECK(effects("SELECT set_config('work_mem', $1, false)") == Lines{"set_unknown work_mem"});
  CHECK(effects("SELECT set_config('work_mem', $1, true)") == Lines{"set_unknown work_mem=local"});
  CHECK(effects("SELECT set_config('work_mem', '1MB', $2)") == Lines{"set_unknown work_mem"});
  CHECK(effects("SELECT set_config(name, 'x', false) FROM t") == Lines{"set_unknown"});
  CHECK(effects("SELECT other.set_config('a', 'b', false)").empty());
  CHECK(effects("SELECT 'set_config(a)' AS text").empty());
}

TEST_CASE("DISCARD") {
  CHECK(effects("DISCARD ALL") == Lines{"discard_all"});
  CHECK(effects("discard plans") == Lines{"discard_plans"});
  CHECK(effects("DISCARD SEQUENCES") == Lines{"discard_sequences"});
  CHECK(effects("DISCARD TEMP") == Lines{"discard_temp"});
  CHECK(effects("DISCARD TEMPORARY") == Lines{"discard_temp"});
}

TEST_CASE("SQL-level prepared statements") {
  // A PREPARE carries its own text, to be run again on another server.
  CHECK(effects("PREPARE P1 (int) AS SELECT $1") == Lines{"prepare p1=PREPARE P1 (int) AS SELECT $1"});
  CHECK(effects("PREPARE \"Q\" AS SELECT pg_advisory_lock(1)") ==
        Lines{"prepare Q=PREPARE \"Q\" AS SELECT pg_advisory_lock(1)"});
  CHECK(effects("EXECUTE p1(5)") == Lines{"execute p1"});
  CHECK(effects("DEALLOCATE p1") == Lines{"deallocate p1"});
  CHECK(effects("DEALLOCATE PREPARE p1") == Lines{"deallocate p1"});
  CHECK(effects("DEALLOCATE ALL") == Lines{"deallocate_all"});
}

TEST_CASE("a PREPARE's text is its own statement, exactly, in a multi-statement query") {
  CHECK(effects("SELECT 1; PREPARE a AS SELECT ';' ; SELECT 2") == Lines{"prepare a=PREPARE a AS SELECT ';'"});
  CHECK(effects("  PREPARE b AS SELECT 2 -- trailing comment") ==
        Lines{"prepare b=PREPARE b AS SELECT 2 -- trailing comment"});
  CHECK(effects("PREPARE c AS SELECT 'é';PREPARE d (int) AS\n  SELECT $1 /* ; */ + 1;") ==
        Lines{"prepare c=PREPARE c AS SELECT 'é'", "prepare d=PREPARE d (int) AS\n  SELECT $1 /* ; */ + 1"});
  CHECK(effects("BEGIN; PREPARE e AS SELECT $$a;b$$; COMMIT") ==
        Lines{"begin", "prepare e=PREPARE e AS SELECT $$a;b$$", "commit"});
  // Up to the first NUL byte, as PostgreSQL reads a Query message.
  CHECK(effects(std::string_view("PREPARE f AS SELECT 1\0; PREPARE g AS SELECT 2", 45)) ==
        Lines{"prepare f=PREPARE f AS SELECT 1"});
}

TEST_CASE("LISTEN, UNLISTEN, NOTIFY, pg_notify") {
  CHECK(effects("LISTEN Jobs") == Lines{"listen jobs"});
  CHECK(effects("UNLISTEN jobs") == Lines{"unlisten jobs"});
  CHECK(effects("UNLISTEN *") == Lines{"unlisten_all"});
  CHECK(effects("NOTIFY jobs, 'hello'") == Lines{"notify jobs=hello"});
  CHECK(effects("NOTIFY jobs") == Lines{"notify jobs"});
  CHECK(effects("SELECT pg_notify('jobs', 'x')") == Lines{"notify jobs=x"});
}

TEST_CASE("temporary objects") {
  CHECK(effects("CREATE TEMP TABLE t (a int)") == Lines{"create_temp t=table"});
  CHECK(effects("CREATE TEMPORARY TABLE IF NOT EXISTS \"T\" (a int)") ==
        Lines{"create_temp T=table"});
  CHECK(effects("CREATE TEMP TABLE t (a int) ON COMMIT DROP").empty());
  CHECK(effects("CREATE TEMP TABLE t (a int) ON COMMIT DELETE ROWS") ==
        Lines{"create_temp t=table"});
  CHECK(effects("CREATE TABLE pg_temp.x (a int)") == Lines{"create_temp x=table"});
  CHECK(effects("CREATE TABLE public.x (a int)").empty());
  CHECK(effects("CREATE TEMP VIEW v AS SELECT 1") == Lines{"create_temp v=view"});
  CHECK(effects("CREATE TEMP SEQUENCE s") == Lines{"create_temp s=sequence"});
  CHECK(effects("CREATE TEMP TABLE c AS SELECT 1") == Lines{"create_temp c=table"});
  CHECK(effects("SELECT 1 AS a INTO TEMP TABLE i") == Lines{"create_temp i=table"});
  CHECK(effects("SELECT 1 AS temperature").empty());
  CHECK(effects("DROP TABLE t, pg_temp.u, public.v") == Lines{"drop_object t", "drop_object u"});
  CHECK(effects("DROP VIEW IF EXISTS v") == Lines{"drop_object v"});
  CHECK(effects("DROP FUNCTION f()").empty());
}

TEST_CASE("session advisory locks") {
  CHECK(effects("SELECT pg_advisory_lock(42)") == Lines{"advisory_lock 42"});
  CHECK(effects("SELECT pg_try_advisory_lock(1, 2)") == Lines{"advisory_lock 1,2=try"});
  CHECK(effects("SELECT pg_advisory_lock((-7)::bigint)") == Lines{"advisory_lock -7"});
  CHECK(effects("SELECT PG_ADVISORY_LOCK_SHARED(9999999999)") ==
        Lines{"advisory_lock_shared 9999999999"});
  CHECK(effects("SELECT pg_advisory_unlock(42)") == Lines{"advisory_unlock 42"});
  CHECK(effects("SELECT pg_advisory_unlock_shared(42)") == Lines{"advisory_unlock_shared 42"});
  CHECK(effects("SELECT pg_advisory_unlock_all()") == Lines{"advisory_unlock_all"});
  CHECK(effects("SELECT pg_advisory_lock(hashtext('job'))") == Lines{"advisory_lock ?"});
  CHECK(effects("SELECT id FROM jobs WHERE pg_try_advisory_lock(id) LIMIT 1") ==
        Lines{"advisory_lock ?=try"});
  CHECK(effects("SELECT pg_advisory_xact_lock(42)").empty());
  CHECK(effects("SELECT pg_try_advisory_xact_lock_shared(42)").empty());
  CHECK(effects("EXPLAIN SELECT pg_advisory_lock(1)").empty());
  CHECK(effects("EXPLAIN ANALYZE SELECT pg_advisory_lock(1)") == Lines{"advisory_lock 1"});
  CHECK(effects("WITH l AS (SELECT pg_advisory_lock(3)) SELECT * FROM l") ==
        Lines{"advisory_lock 3"});
  CHECK(effects("INSERT INTO t VALUES (pg_advisory_lock(4))") == Lines{"advisory_lock 4"});
}

TEST_CASE("cursors, LOAD, transaction control") {
  CHECK(effects("DECLARE c CURSOR WITH HOLD FOR SELECT 1") == Lines{"declare_hold_cursor c"});
  CHECK(effects("DECLARE c CURSOR FOR SELECT 1").empty());
  CHECK(effects("CLOSE c") == Lines{"close c"});
  CHECK(effects("CLOSE ALL") == Lines{"close_all"});
  CHECK(effects("LOAD 'auto_explain'") == Lines{"load auto_explain"});
  CHECK(effects("BEGIN") == Lines{"begin"});
  CHECK(effects("START TRANSACTION ISOLATION LEVEL SERIALIZABLE") == Lines{"begin"});
  CHECK(effects("COMMIT") == Lines{"commit"});
  CHECK(effects("END") == Lines{"commit"});
  CHECK(effects("ROLLBACK") == Lines{"rollback"});
  CHECK(effects("ABORT") == Lines{"rollback"});
  CHECK(effects("COMMIT AND CHAIN") == Lines{"commit", "begin"});
  CHECK(effects("SAVEPOINT Sp1") == Lines{"savepoint sp1"});
  CHECK(effects("RELEASE SAVEPOINT sp1") == Lines{"release sp1"});
  CHECK(effects("RELEASE sp1") == Lines{"release sp1"});
  CHECK(effects("ROLLBACK TO SAVEPOINT sp1") == Lines{"rollback_to sp1"});
  CHECK(effects("ROLLBACK TO sp1") == Lines{"rollback_to sp1"});
  CHECK(effects("PREPARE TRANSACTION 'x'") == Lines{"prepare_transaction"});
  CHECK(effects("COMMIT PREPARED 'x'") == Lines{"commit_prepared"});
}

TEST_CASE("multi-statement strings: one result per statement PostgreSQL runs") {
  SessionStatementClassifier classifier;
  const Classification result =
      classifier.classify("BEGIN; SET LOCAL a.b = 1;; SELECT 1; CREATE TEMP TABLE t(); COMMIT");
  REQUIRE(result.statements.size() == 5);
  CHECK(result.statements[0].effects == std::vector<SessionEffect>{{K::Begin, "", ""}});
  CHECK(result.statements[1].effects == std::vector<SessionEffect>{{K::SetLocal, "a.b", "1"}});
  CHECK(result.statements[2].effects.empty());
  CHECK(result.statements[2].command == "SELECT");
  CHECK(result.statements[3].command == "CREATE TABLE");
  CHECK(result.statements[4].effects == std::vector<SessionEffect>{{K::Commit, "", ""}});
  // The cheap path counts statements the same way.
  CHECK(classifier.classify("SELECT 1; SELECT ';';; COMMIT").statements.size() == 3);
}

TEST_CASE("syntax errors: nothing runs") {
  CHECK(effects("SET = 1") == Lines{"syntax error"});
  SessionStatementClassifier classifier;
  const Classification result = classifier.classify("SET a.b = 1; SELEC 2");
  CHECK(result.syntax_error);
  CHECK(result.statements.empty());
}

TEST_CASE("the pre-check keeps common statements away from the parser") {
  SessionStatementClassifier classifier;
  for (const char* text :
       {"SELECT * FROM users WHERE id = $1", "INSERT INTO t VALUES (1)", "UPDATE t SET a = 1",
        "DELETE FROM t", "WITH x AS (SELECT 1) SELECT * FROM x", "BEGIN", "COMMIT", "ROLLBACK",
        "BEGIN ISOLATION LEVEL SERIALIZABLE", "SHOW search_path", "COPY t FROM STDIN",
        "FETCH 10 FROM c", "VALUES (1)", "", ";", "-- comment only"}) {
    CAPTURE(text);
    CHECK_FALSE(SessionStatementClassifier::may_change_session_state(text));
    classifier.classify(text);
  }
  CHECK(classifier.parser_calls() == 0);
  for (const char* text : {"SELECT set_config('a.b', '1', false)", "SELECT pg_advisory_lock(1)",
                           "SELECT pg_advisory_unlock(1)", "SELECT pg_advisory_unlock_all()",
                           "select PG_NOTIFY('c', '')", "SELECT 1 INTO TEMP t", "SET a.b = 1",
                           "ROLLBACK TO s", "SAVEPOINT s", "CREATE TABLE t ()", "DISCARD ALL"}) {
    CAPTURE(text);
    CHECK(SessionStatementClassifier::may_change_session_state(text));
  }
}

TEST_CASE("the pre-check by query shape gives the same answers, one look per shape") {
  SessionStatementClassifier classifier;
  const char* texts[] = {
      "SELECT abalance FROM pgbench_accounts WHERE aid = 1", "SELECT set_config('a.b', '1', false)",
      "SELECT pg_advisory_lock(7)", "SELECT 1 INTO TEMP t", "SET a.b = 1", "BEGIN", "COMMIT",
      "INSERT INTO t VALUES ('temp')", "DISCARD ALL", "SELECT $$x$$", "/* c */ SELECT 1", "LISTEN c"};
  for (int round = 0; round < 2; ++round) {
    for (const char* text : texts) {
      CAPTURE(text);
      CHECK(classifier.may_change_session_state(text, query_shape(text).key) ==
            SessionStatementClassifier::may_change_session_state(text));
    }
  }
  // Texts of one shape differ only in literals: the first one's answer stands for all.
  CHECK_FALSE(classifier.may_change_session_state("SELECT abalance FROM pgbench_accounts WHERE aid = 99",
                                                  query_shape("SELECT abalance FROM pgbench_accounts WHERE aid = 99").key));
  CHECK(classifier.may_change_session_state("SELECT pg_advisory_lock(12345)",
                                            query_shape("SELECT pg_advisory_lock(12345)").key));
  CHECK(classifier.may_change_session_state("SELECT set_config('x.y', 'z', true)",
                                            query_shape("SELECT set_config('x.y', 'z', true)").key));
  CHECK(classifier.parser_calls() == 0);  // the look never parses
}

TEST_CASE("the cache: each distinct text is parsed once, least recently used goes first") {
  SessionStatementClassifier classifier(2);
  const char* a = "SET a.x = 1";
  const char* b = "SET b.x = 2";
  const char* c = "SET c.x = 3";
  const Classification first = classifier.classify(a);
  CHECK(classifier.classify(a) == first);
  CHECK(classifier.classify(std::string(a)) == first);
  CHECK(classifier.parser_calls() == 1);
  classifier.classify(b);
  CHECK(classifier.parser_calls() == 2);
  classifier.classify(a);  // a is now the most recent
  classifier.classify(c);  // evicts b
  CHECK(classifier.parser_calls() == 3);
  CHECK(classifier.cache_size() == 2);
  classifier.classify(a);
  CHECK(classifier.parser_calls() == 3);
  classifier.classify(b);
  CHECK(classifier.parser_calls() == 4);
  // Syntax errors are cached too.
  classifier.classify("SET = 1");
  classifier.classify("SET = 1");
  CHECK(classifier.parser_calls() == 5);
}

TEST_CASE("very long texts are parsed but not kept") {
  SessionStatementClassifier classifier;
  std::string text = "SELECT set_config('a.b', '";
  text += std::string(SessionStatementClassifier::kMaxCachedText, 'x');
  text += "', false)";
  const Classification first = classifier.classify(text);
  REQUIRE(first.statements.size() == 1);
  CHECK(first.statements[0].effects.size() == 1);
  classifier.classify(text);
  CHECK(classifier.parser_calls() == 2);
  CHECK(classifier.cache_size() == 0);
}

TEST_CASE("text after a NUL byte is not SQL") {
  const std::string text("SET a.b = 1\0; SET c.d = 2", 25);
  CHECK(effects(text) == Lines{"set a.b=1"});
}

TEST_CASE("text_hash is FNV-1a") {
  CHECK(text_hash("") == 14695981039346656037ull);
  CHECK(text_hash("a") == 0xaf63dc4c8601ec8cull);
  CHECK(text_hash("SET a = 1") != text_hash("SET a = 2"));
}

TEST_CASE("the glance at the first word lets through only single row statements with no telling word") {
  using ouroboros::sql::leaves_session_alone_at_a_glance;
  CHECK(leaves_session_alone_at_a_glance("SELECT abalance FROM pgbench_accounts WHERE aid = 42;"));
  CHECK(leaves_session_alone_at_a_glance("  insert into t values (1)  ;  \n"));
  CHECK(leaves_session_alone_at_a_glance("UPDATE t SET x = 1"));
  CHECK_FALSE(leaves_session_alone_at_a_glance("SELECT 1; SET work_mem = '1MB'"));
  CHECK_FALSE(leaves_session_alone_at_a_glance("SELECT set_config('a.b', 'c', false)"));
  CHECK_FALSE(leaves_session_alone_at_a_glance("SELECT pg_advisory_lock(1)"));
  CHECK_FALSE(leaves_session_alone_at_a_glance("SELECT * INTO TEMP t FROM x"));
  CHECK_FALSE(leaves_session_alone_at_a_glance("SET search_path = x"));
  CHECK_FALSE(leaves_session_alone_at_a_glance("select_x()"));
  CHECK_FALSE(leaves_session_alone_at_a_glance("/* c */ SELECT 1"));
  CHECK_FALSE(leaves_session_alone_at_a_glance(std::string_view("SELECT 1\0; SET x = 1", 20)));
  CHECK_FALSE(leaves_session_alone_at_a_glance(""));
  CHECK_FALSE(leaves_session_alone_at_a_glance("BEGIN"));
}
