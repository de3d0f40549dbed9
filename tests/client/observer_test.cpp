// Query hooks against a real server: every statement exactly once, with its SQL, parameters,
// rows, cache outcome, transaction state, retry flag and SQLSTATE; trace comments that reach
// the server and its log; the slow/failed-query logger.
//
// The suite "transaction_mode" also runs through the proxy in transaction mode
// (client_transaction_mode_proxy).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "observer_recorder.hpp"
#include "test_database.hpp"

using namespace ouroboros;
using namespace std::chrono_literals;
using client_test::Recorder;
using client_test::sqls;
using Strings = std::vector<std::string>;

namespace {

// A traceparent whose trace id is unique to this process and a tag, so log lines are ours.
std::string unique_traceparent(unsigned tag) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "00-%08x%08x%016x-%016x-01",
                static_cast<unsigned>(::getpid()), tag, 0xabcdefu, 0x1234u + tag);
  return buffer;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Polls the server log until it contains `needle` (deadline 30 s).
bool log_contains(const std::string& needle) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  for (;;) {
    if (read_file(client_test::cluster().log_file).find(needle) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);  // polling, bounded by the deadline
  }
}

Connection observed(const std::shared_ptr<QueryObserver>& observer, std::size_t cache = 100) {
  ConnectOptions options;
  options.statement_cache_size = cache;
  options.observers.push_back(observer);
  return client_test::connect(options);
}

RetryPolicy no_wait_retry() {
  RetryPolicy retry;
  retry.sleep = [](std::chrono::milliseconds) {};
  return retry;
}

}  // namespace

TEST_SUITE("transaction_mode") {
  TEST_CASE("hooks see every statement once with its SQL, parameters, rows and cache outcome") {
    auto recorder = std::make_shared<Recorder>();
    Connection conn = observed(recorder);
    client_test::Table table(conn, "hooks", "id int PRIMARY KEY, name text");
    recorder->clear();
    const std::string insert = "INSERT INTO " + table + " (id, name) VALUES ($1, $2)";
    conn.execute(insert, 1, "ann");
    conn.execute(insert, 2, "bob");
    CHECK(conn.query("SELECT id FROM " + table + " ORDER BY id").size() == 2);
    conn.execute_script("UPDATE " + table + " SET name = upper(name)");

    const auto starts = recorder->starts(), ends = recorder->ends();
    REQUIRE(ends.size() == 4);
    REQUIRE(starts.size() == 4);
    const std::string select = "SELECT id FROM " + table + " ORDER BY id";
    const std::string update = "UPDATE " + table + " SET name = upper(name)";
    CHECK(sqls(ends) == Strings{insert, insert, select, update});
    for (std::size_t i = 0; i < ends.size(); ++i) {
      CHECK(starts[i].id == ends[i].id);
      CHECK(ends[i].duration > 0ns);
      CHECK_FALSE(ends[i].failed);
      CHECK(ends[i].transaction == TransactionStatus::Idle);
      CHECK_FALSE(ends[i].retry);
    }
    CHECK(ends[0].parameter_count == 2);
    CHECK(ends[0].parameter_values.empty());  // values only for observers that opt in
    CHECK(ends[0].rows == 1);
    CHECK(ends[2].rows == 2);
    CHECK(ends[3].rows == 2);
    CHECK(ends[0].cache == CacheOutcome::Prepared);
    CHECK(ends[1].cache == CacheOutcome::Hit);
    CHECK(ends[3].cache == CacheOutcome::NotUsed);
    CHECK(ends[0].kind == StatementKind::Query);
    CHECK(ends[3].kind == StatementKind::Script);
  }

  TEST_CASE("hooks see a failed statement with its SQLSTATE and error class") {
    auto recorder = std::make_shared<Recorder>();
    Connection conn = observed(recorder);
    client_test::Table table(conn, "hook_errors", "id int PRIMARY KEY");
    conn.execute("INSERT INTO " + table + " VALUES ($1)", 1);
    recorder->clear();
    CHECK_THROWS_AS(conn.execute("INSERT INTO " + table + " VALUES ($1)", 1), ConflictError);
    CHECK_THROWS_AS(conn.query("SELEC 1"), SyntaxError);  // fails while preparing
    CHECK_THROWS_AS(conn.execute_script("SELECT 1/0"), DataError);
    const auto ends = recorder->ends();
    REQUIRE(ends.size() == 3);
    CHECK(recorder->starts().size() == 3);
    CHECK(ends[0].failed);
    CHECK(ends[0].sqlstate == "23505");
    CHECK(ends[0].error_class == "ConflictError");
    CHECK(ends[0].error_message.find("duplicate key") != std::string::npos);
    CHECK(ends[1].sqlstate == "42601");
    CHECK(ends[1].error_class == "SyntaxError");
    CHECK(ends[1].sql == "SELEC 1");
    CHECK(ends[2].sqlstate == "22012");
    CHECK(ends[2].error_class == "DataError");
  }

  TEST_CASE("hooks inside a transaction see BEGIN, the statements with their state, and COMMIT") {
    auto recorder = std::make_shared<Recorder>();
    Connection conn = observed(recorder);
    client_test::Table table(conn, "hook_tx", "id int PRIMARY KEY");
    recorder->clear();
    conn.transaction([&](Transaction& tx) {
      tx.execute("INSERT INTO " + table + " VALUES ($1)", 1);
      auto nested = tx.savepoint();
      CHECK_THROWS_AS(nested.execute("INSERT INTO " + table + " VALUES ($1)", 1), ConflictError);
      CHECK_THROWS_AS(nested.query("SELECT 1"), TransactionStateError);  // aborted
      nested.rollback();
    });
    const auto ends = recorder->ends();
    const std::string insert = "INSERT INTO " + table + " VALUES ($1)";
    REQUIRE(ends.size() == 7);
    CHECK(sqls(ends) == Strings{"BEGIN", insert, "SAVEPOINT ouro_sp_1", insert, "SELECT 1",
                                "ROLLBACK TO SAVEPOINT ouro_sp_1; RELEASE SAVEPOINT ouro_sp_1",
                                "COMMIT"});
    CHECK(ends[0].kind == StatementKind::Transaction);
    CHECK(ends[0].transaction == TransactionStatus::Idle);
    CHECK(ends[1].transaction == TransactionStatus::InTransaction);
    CHECK(ends[4].transaction == TransactionStatus::Failed);
    CHECK(ends[4].sqlstate == "25P02");
    CHECK(ends[6].kind == StatementKind::Transaction);
    CHECK_FALSE(ends[6].failed);
  }

  TEST_CASE("hooks mark the statements of a retried transaction") {
    auto recorder = std::make_shared<Recorder>();
    Connection conn = observed(recorder);
    recorder->clear();
    const std::string conflict =
        "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = 'serialization_failure'; END $$";
    int runs = 0;
    const int value = conn.transaction({}, no_wait_retry(), [&](Transaction& tx) {
      if (++runs == 1) tx.execute(conflict);
      return tx.query_value<int>("SELECT 42");
    });
    CHECK(value == 42);
    const auto ends = recorder->ends();
    REQUIRE(ends.size() == 6);
    CHECK(sqls(ends) == Strings{"BEGIN", conflict, "ROLLBACK", "BEGIN", "SELECT 42", "COMMIT"});
    CHECK(ends[1].sqlstate == "40001");
    CHECK(ends[1].error_class == "SerializationError");
    for (int i = 0; i < 3; ++i) {
      CHECK(ends[i].attempt == 1);
      CHECK_FALSE(ends[i].retry);
    }
    for (int i = 3; i < 6; ++i) {
      CHECK(ends[i].attempt == 2);
      CHECK(ends[i].retry);
    }
    conn.execute("SELECT 1");  // after the transaction: attempt 1 again
    CHECK(recorder->ends().back().attempt == 1);
  }

  TEST_CASE("observers opting in see parameter values; failing observers never fail a statement") {
    struct Throwing : QueryObserver {
      void on_query_start(const QueryEvent&) override { throw std::runtime_error("start"); }
      void on_query_end(const QueryEvent&) override { throw std::runtime_error("end"); }
    };
    auto values = std::make_shared<Recorder>(true);
    ConnectOptions options;
    options.observers = {std::make_shared<Throwing>(), values};
    Connection conn = client_test::connect(options);
    CHECK(conn.query_value<std::string>("SELECT concat($1::text, $2::text)", "a", std::nullopt) ==
          "a");
    const auto ends = values->ends();
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].parameter_values == Strings{"a", "NULL"});
  }

  TEST_CASE("pool observers see the statements of every pooled connection") {
    auto recorder = std::make_shared<Recorder>();
    PoolOptions options;
    options.max_size = 2;
    options.maintenance_interval = 0ms;
    options.observers.push_back(recorder);
    Pool pool(client_test::dsn(), options);
    {
      PooledConnection a = pool.acquire(), b = pool.acquire();
      a->query_value<int>("SELECT 1");
      b->query_value<int>("SELECT 2");
    }
    CHECK(sqls(recorder->ends()) == Strings{"SELECT 1", "SELECT 2"});
  }

  TEST_CASE("a traceparent reaches the server as an sqlcommenter comment") {
    auto recorder = std::make_shared<Recorder>();
    Connection conn = observed(recorder);
    const std::string connection_trace = unique_traceparent(1);
    const std::string transaction_trace = unique_traceparent(2);
    const std::string call_trace = unique_traceparent(3);
    const auto comment = [](const std::string& traceparent) {
      return "/*traceparent='" + traceparent + "'*/";
    };
    const std::string current = "SELECT current_query()";

    CHECK(conn.query_value<std::string>(current) == current);  // nothing set: no comment
    conn.set_traceparent(connection_trace);
    CHECK(conn.query_value<std::string>(current) == current + " " + comment(connection_trace));
    CHECK(recorder->ends().back().cache == CacheOutcome::Bypassed);
    CHECK(recorder->ends().back().sql == current);  // observers see the SQL as written
    CHECK(recorder->ends().back().trace == TraceContext::parse(connection_trace));
    {
      TransactionOptions tx_options;
      tx_options.traceparent = transaction_trace;
      Transaction tx = conn.begin(tx_options);
      CHECK(tx.query_value<std::string>(current) == current + " " + comment(transaction_trace));
      {
        ScopedTrace scope(conn, call_trace);
        CHECK(tx.query_value<std::string>(current) == current + " " + comment(call_trace));
      }
      CHECK(tx.query_value<std::string>(current) == current + " " + comment(transaction_trace));
      tx.commit();
    }
    const auto ends = recorder->ends();
    CHECK(ends[ends.size() - 1].sql == "COMMIT");
    CHECK(ends[ends.size() - 1].trace == TraceContext::parse(transaction_trace));
    CHECK(ends[ends.size() - 5].sql == "BEGIN");
    CHECK(ends[ends.size() - 5].trace == TraceContext::parse(transaction_trace));
    CHECK(conn.trace_context() == TraceContext::parse(connection_trace));
    CHECK(conn.query_value<std::string>(current) == current + " " + comment(connection_trace));
    CHECK_THROWS_AS(conn.set_traceparent("00-nope"), UsageError);
    CHECK_THROWS_AS(conn.begin({.traceparent = "garbage"}), UsageError);
    conn.set_traceparent("");
    CHECK(conn.query_value<std::string>(current) == current);
  }

  TEST_CASE("without trace comments the trace context reaches only the observers") {
    auto recorder = std::make_shared<Recorder>();
    ConnectOptions options;
    options.trace_comments = false;
    options.observers.push_back(recorder);
    Connection conn = client_test::connect(options);
    conn.set_traceparent(unique_traceparent(4));
    CHECK(conn.query_value<std::string>("SELECT current_query()") == "SELECT current_query()");
    CHECK(recorder->ends().back().trace == TraceContext::parse(unique_traceparent(4)));
    CHECK(recorder->ends().back().cache == CacheOutcome::Prepared);
  }

  TEST_CASE("a failed statement's traceparent comment reaches PostgreSQL's log") {
    Connection conn = client_test::connect();
    const std::string traceparent = unique_traceparent(5);
    conn.set_traceparent(traceparent);
    CHECK_THROWS_AS(conn.query("SELECT * FROM no_such_table_for_trace_log WHERE id = $1", 1),
                    UndefinedTable);
    CHECK(log_contains("no_such_table_for_trace_log WHERE id = $1 /*traceparent='" + traceparent +
                       "'*/"));
  }

  TEST_CASE("the query logger reports a slow statement and a failed one") {
    std::mutex mutex;
    std::vector<QueryLogRecord> records;
    QueryLoggerOptions logger_options;
    logger_options.slow_threshold = 500ms;
    logger_options.sink = [&](const QueryLogRecord& record) {
      std::lock_guard lock(mutex);
      records.push_back(record);
    };
    auto logger = std::make_shared<QueryLogger>(logger_options);
    Connection conn = observed(logger);
    conn.set_traceparent(unique_traceparent(6));
    conn.query("SELECT pg_sleep(1.5), 'literal'");  // well above the threshold
    CHECK_THROWS_AS(conn.query("SELECT * FROM no_such_table_for_logger WHERE name = 'secret'"),
                    UndefinedTable);
    REQUIRE(records.size() == 2);
    CHECK(records[0].event == "slow_query");
    CHECK(records[0].sql == "SELECT pg_sleep(?), ?");
    CHECK(records[0].duration >= 1500ms);
    CHECK(records[0].rows == 1);
    CHECK(records[0].trace_id == TraceContext::parse(unique_traceparent(6)).trace_id_hex());
    CHECK(records[1].event == "failed_query");
    CHECK(records[1].sql == "SELECT * FROM no_such_table_for_logger WHERE name = ?");
    CHECK(records[1].sqlstate == "42P01");
    CHECK(records[1].error_class == "UndefinedTable");
    CHECK(records[1].message.find("no_such_table_for_logger") != std::string::npos);
  }

}  // TEST_SUITE("transaction_mode")

TEST_CASE("hooks report a transparently re-prepared statement once") {
  auto recorder = std::make_shared<Recorder>();
  Connection conn = observed(recorder);
  conn.query_value<int>("SELECT $1::int", 1);
  conn.execute_script("DEALLOCATE ALL");
  recorder->clear();
  CHECK(conn.query_value<int>("SELECT $1::int", 2) == 2);
  const auto ends = recorder->ends();
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].cache == CacheOutcome::Reprepared);
  CHECK_FALSE(ends[0].failed);
}

TEST_CASE("a successful statement's traceparent comment reaches PostgreSQL's log") {
  const client_test::ClusterInfo& c = client_test::cluster();
  Connection conn(client_test::direct_dsn(c.superuser, c.superuser_password));
  conn.execute_script("SET log_statement = 'all'");
  const std::string traceparent = unique_traceparent(7);
  conn.set_traceparent(traceparent);
  conn.query_value<int>("SELECT $1::int + 7", 1);
  conn.execute_script("SELECT 'logged script'");
  CHECK(log_contains("SELECT $1::int + 7 /*traceparent='" + traceparent + "'*/"));
  CHECK(log_contains("SELECT 'logged script' /*traceparent='" + traceparent + "'*/"));
}
