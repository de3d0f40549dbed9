// Connection::State: what a Connection owns (the libpq connection, the statement cache, the
// observers and the trace context), shared by the files that implement Connection.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>
#include <utility>

#include "observation.hpp"
#include "ouroboros/connection.hpp"
#include "statement_cache.hpp"

namespace ouroboros {

namespace detail {
std::string error_field(const PGresult* result, int code);
std::string random_statement_prefix();
std::string trimmed(const char* text);
}  // namespace detail

struct Connection::State {
  State(PGconn* connection, ConnectOptions connect_options)
      : conn(connection),
        options(std::move(connect_options)),
        cache(options.statement_cache_size, detail::random_statement_prefix()),
        observers(options.observers) {}
  ~State() { PQfinish(conn); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Throws the DatabaseError for a failed result (and frees it).
  [[noreturn]] void raise(PGresult* result, std::string_view query) {
    ErrorReport report;
    if (result != nullptr) {
      report.sqlstate = detail::error_field(result, PG_DIAG_SQLSTATE);
      report.severity = detail::error_field(result, PG_DIAG_SEVERITY_NONLOCALIZED);
      report.message = detail::error_field(result, PG_DIAG_MESSAGE_PRIMARY);
      report.detail = detail::error_field(result, PG_DIAG_MESSAGE_DETAIL);
      report.hint = detail::error_field(result, PG_DIAG_MESSAGE_HINT);
      report.schema = detail::error_field(result, PG_DIAG_SCHEMA_NAME);
      report.table = detail::error_field(result, PG_DIAG_TABLE_NAME);
      report.column = detail::error_field(result, PG_DIAG_COLUMN_NAME);
      report.constraint = detail::error_field(result, PG_DIAG_CONSTRAINT_NAME);
      report.datatype = detail::error_field(result, PG_DIAG_DATATYPE_NAME);
      if (std::string position = detail::error_field(result, PG_DIAG_STATEMENT_POSITION);
          !position.empty())
        report.position = std::atoi(position.c_str());
      if (report.message.empty()) report.message = detail::trimmed(PQresultErrorMessage(result));
      PQclear(result);
    }
    if (report.message.empty()) report.message = detail::trimmed(PQerrorMessage(conn));
    report.query = std::string(query);
    if (report.sqlstate.empty() && PQstatus(conn) == CONNECTION_BAD) {
      report.sqlstate = "08006";  // connection_failure
      if (report.severity.empty()) report.severity = "FATAL";
    }
    throw_database_error(std::move(report));
  }

  // Takes ownership of result; returns it wrapped, or throws its error.
  Result check(PGresult* result, std::string_view query) {
    if (result == nullptr) raise(nullptr, query);
    switch (PQresultStatus(result)) {
      case PGRES_TUPLES_OK:
      case PGRES_COMMAND_OK:
      case PGRES_EMPTY_QUERY:
        return Result(std::make_shared<const detail::ResultData>(result));
      case PGRES_COPY_IN:
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        PQclear(result);
        throw UsageError("COPY is not supported through query()/execute()");
      default:
        raise(result, query);
    }
  }

  void require_open() const {
    if (busy != nullptr)
      throw UsageError(std::string("the connection is busy with ") + busy +
                       "; finish it before running anything else");
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
      ErrorReport report;
      report.sqlstate = "08003";  // connection_does_not_exist
      report.severity = "FATAL";
      report.message = "the connection is closed";
      throw ConnectionError(std::move(report));
    }
  }

  // DEALLOCATE evicted statements, only outside transaction blocks (an error there would abort
  // the caller's transaction). Failures are ignored: the statement may already be gone.
  void deallocate_retired() {
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) return;
    for (const std::string& name : cache.take_retired()) {
      std::string sql = "DEALLOCATE " + name;
      PQclear(PQexec(conn, sql.c_str()));
    }
  }

  // The start event of a statement (left empty without observers).
  QueryEvent start_event(StatementKind kind, std::string_view sql, const Params* params) const {
    QueryEvent start;
    if (observers.empty()) return start;
    start.kind = kind;
    start.sql = sql;
    start.parameter_count = params ? params->size() : 0;
    start.transaction = detail::transaction_status_of(conn);
    start.attempt = attempt;
    start.trace = trace;
    start.backend_pid = PQbackendPID(conn);
    return start;
  }

  // Runs one statement under observation: run(event) returns the Result or throws.
  template <class Run>
  Result observe(StatementKind kind, std::string_view sql, const Params* params, Run&& run) {
    detail::Observation observation(observers, start_event(kind, sql, params), params);
    try {
      Result result = run(observation.event());
      observation.succeeded(result.native_handle());
      return result;
    } catch (const std::exception& error) {
      observation.failed(error);
      throw;
    } catch (...) {
      observation.failed_unknown();
      throw;
    }
  }

  Result run_extended(std::string_view sql, const Params& params, CacheOutcome& outcome);

  // The text to send: with the trace comment when a traceparent is in force.
  bool commented() const { return options.trace_comments && trace.valid(); }
  std::string text_for(std::string_view sql) const {
    return commented() ? detail::with_trace_comment(sql, trace) : std::string(sql);
  }

  PGconn* conn;
  ConnectOptions options;
  StatementCache cache;
  detail::Observers observers;
  TraceContext trace;                 // in force for the next statement
  std::optional<TraceContext> outer;  // saved while a transaction has its own traceparent
  int attempt = 1;                    // run of Connection::transaction(...)
  bool transaction_open = false;
  const char* busy = nullptr;  // "a COPY" while a CopyWriter is open
  unsigned savepoint_counter = 0;
};

}  // namespace ouroboros
