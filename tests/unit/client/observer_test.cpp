// Trace contexts, the trace comment, SQL redaction, the slow/failed-query logger's decisions
// and its JSON lines: no server needed (events are built by hand).
#include <doctest/doctest.h>

#include <vector>

#include "observation.hpp"
#include "ouroboros/errors.hpp"
#include "ouroboros/query_logger.hpp"

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

const char* const kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST_CASE("TraceContext parses and prints a W3C traceparent") {
  const TraceContext context = TraceContext::parse(kParent);
  CHECK(context.valid());
  CHECK(context.trace_id_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(context.span_id_hex() == "00f067aa0ba902b7");
  CHECK(context.flags == 1);
  CHECK(context.trace_id[0] == 0x4b);
  CHECK(context.traceparent() == kParent);
  CHECK_FALSE(TraceContext::parse("").valid());
  CHECK(TraceContext::parse("").traceparent().empty());
}

TEST_CASE("a malformed traceparent is a UsageError") {
  for (const char* bad : {
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",     // short
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'; DROP TABLE x; --",
       }) {
    CAPTURE(bad);
    CHECK_THROWS_AS(TraceContext::parse(bad), UsageError);
  }
}

TEST_CASE("the trace comment goes at the end, before a trailing semicolon") {
  const TraceContext trace = TraceContext::parse(kParent);
  const std::string comment = std::string("/*traceparent='") + kParent + "'*/";
  CHECK(detail::with_trace_comment("SELECT 1", trace) == "SELECT 1 " + comment);
  CHECK(detail::with_trace_comment("SELECT 1;  \n", trace) == "SELECT 1 " + comment + ";");
  // A line comment would swallow it: it goes on a line of its own.
  CHECK(detail::with_trace_comment("SELECT 1 -- note", trace) == "SELECT 1 -- note\n" + comment);
}

TEST_CASE("redact_sql replaces literals and keeps everything else") {
  CHECK(redact_sql("SELECT * FROM t WHERE a = 'x' AND b = 42 AND c = $1") ==
        "SELECT * FROM t WHERE a = ? AND b = ? AND c = $1");
  CHECK(redact_sql("SELECT 'it''s', E'a\\'b', B'101', X'ff', U&'d\\0061t', N'n'") ==
        "SELECT ?, ?, ?, ?, ?, ?");
  CHECK(redact_sql("SELECT $$secret$$, $tag$ a $$ b $tag$, $1") == "SELECT ?, ?, $1");
  CHECK(redact_sql("SELECT 1.5e-3, .5, 10, TRUE, false, NULL") == "SELECT ?, ?, ?, ?, ?, NULL");
  CHECK(redact_sql("SELECT t1.c2 FROM \"it's\" t1 /* 'kept' 7 */ -- 'kept' 8") ==
        "SELECT t1.c2 FROM \"it's\" t1 /* 'kept' 7 */ -- 'kept' 8");
  CHECK(redact_sql("ALTER ROLE app PASSWORD 'hunter2") == "ALTER ROLE app PASSWORD ?");
  CHECK(redact_sql("SELECT pg_sleep(1.5)") == "SELECT pg_sleep(?)");
}

TEST_CASE("error_class_name matches the exception thrown for each SQLSTATE") {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"23505", "ConflictError"},         {"23503", "ForeignKeyError"},
      {"23000", "IntegrityError"},        {"40P01", "DeadlockError"},
      {"40001", "SerializationError"},    {"22012", "DataError"},
      {"42601", "SyntaxError"},           {"42P01", "UndefinedTable"},
      {"25P02", "TransactionStateError"}, {"57014", "QueryCanceled"},
      {"08006", "ConnectionError"},       {"28P01", "AuthenticationError"},
      {"XX000", "DatabaseError"},
  };
  for (const auto& [state, name] : cases) {
    CAPTURE(state);
    CHECK(error_class_name(state) == name);
    ErrorReport report;
    report.sqlstate = state;
    try {
      throw_database_error(report);
    } catch (const DatabaseError& error) {
      // The thrown type has the same name (checked through the class tree, not RTTI names).
      const bool conflict = dynamic_cast<const ConflictError*>(&error) != nullptr;
      CHECK(conflict == (std::string(name) == "ConflictError"));
      const bool deadlock = dynamic_cast<const DeadlockError*>(&error) != nullptr;
      CHECK(deadlock == (std::string(name) == "DeadlockError"));
      const bool connection = dynamic_cast<const ConnectionError*>(&error) != nullptr;
      CHECK(connection == (std::string(name) == "ConnectionError"));
    }
  }
}

namespace {

QueryEvent finished(std::string_view sql, std::chrono::nanoseconds duration) {
  QueryEvent event;
  event.sql = sql;
  event.duration = duration;
  event.rows = 1;
  return event;
}

}  // namespace

TEST_CASE("the query logger records statements above the threshold, and failures") {
  std::vector<QueryLogRecord> records;
  QueryLoggerOptions options;
  options.slow_threshold = 250ms;
  options.sink = [&](const QueryLogRecord& record) { records.push_back(record); };
  QueryLogger logger(options);

  logger.on_query_end(finished("SELECT 'fast'", 10ms));
  logger.on_query_end(finished("SELECT 'at the threshold'", 250ms));
  CHECK(records.empty());
  logger.on_query_end(finished("SELECT 'slow'", 251ms));
  REQUIRE(records.size() == 1);
  CHECK(records[0].event == "slow_query");
  CHECK(records[0].sql == "SELECT ?");
  CHECK(records[0].rows == 1);
  CHECK(records[0].duration == 251ms);

  QueryEvent failure = finished("INSERT INTO t VALUES (7, 'secret')", 1ms);
  failure.failed = true;
  failure.sqlstate = "23505";
  failure.error_class = "ConflictError";
  failure.error_message = "duplicate key value violates unique constraint \"t_pkey\"";
  failure.trace = TraceContext::parse(kParent);
  logger.on_query_end(failure);
  REQUIRE(records.size() == 2);
  CHECK(records[1].event == "failed_query");
  CHECK(records[1].sql == "INSERT INTO t VALUES (?, ?)");
  CHECK(records[1].sqlstate == "23505");
  CHECK(records[1].error_class == "ConflictError");
  CHECK(records[1].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(records[1].rows == -1);
}

TEST_CASE("the query logger's switches: no redaction, no slow, no failed") {
  std::vector<QueryLogRecord> records;
  QueryLoggerOptions options;
  options.slow_threshold = 1ms;
  options.redact = false;
  options.log_failed = false;
  options.sink = [&](const QueryLogRecord& record) { records.push_back(record); };
  QueryLogger logger(options);
  logger.on_query_end(finished("SELECT 'kept'", 2ms));
  REQUIRE(records.size() == 1);
  CHECK(records[0].sql == "SELECT 'kept'");
  QueryEvent failure = finished("SELECT 1/0", 5ms);  // slow too, but a failure: not logged
  failure.failed = true;
  logger.on_query_end(failure);
  CHECK(records.size() == 1);
  options.log_slow = false;
  QueryLogger quiet(options);
  quiet.on_query_end(finished("SELECT 2", 1s));
  CHECK(records.size() == 1);
  options.slow_threshold = -1ms;
  CHECK_THROWS_AS(QueryLogger{options}, UsageError);
}

TEST_CASE("query log records are one JSON object per line") {
  QueryLogRecord record;
  record.event = "failed_query";
  record.sql = "SELECT \"a\"\n FROM t";
  record.duration = 1500us;
  record.sqlstate = "42P01";
  record.error_class = "UndefinedTable";
  record.message = "relation \"t\" does not exist";
  record.backend_pid = 77;
  CHECK(format_query_log_json(record) ==
        "{\"event\":\"failed_query\",\"kind\":\"query\",\"duration_ms\":1.500,"
        "\"sqlstate\":\"42P01\",\"error_class\":\"UndefinedTable\","
        "\"message\":\"relation \\\"t\\\" does not exist\",\"sql\":\"SELECT \\\"a\\\"\\n FROM t\","
        "\"backend_pid\":77}");
}
