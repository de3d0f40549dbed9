// Connection: statement execution, error reporting and the prepared-statement cache.
#include "ouroboros/connection.hpp"

#include <libpq-fe.h>

#include <cstdio>
#include <random>

#include "connect.hpp"
#include "statement_cache.hpp"

namespace ouroboros {
namespace {

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value ? value : "";
}

std::string random_prefix() {
  std::random_device device;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "ouro_%08x_", static_cast<unsigned>(device()));
  return buffer;
}

std::string trimmed(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

struct Connection::State {
  State(PGconn* connection, ConnectOptions connect_options)
      : conn(connection),
        options(std::move(connect_options)),
        cache(options.statement_cache_size, random_prefix()) {}
  ~State() { PQfinish(conn); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Throws the DatabaseError for a failed result (and frees it).
  [[noreturn]] void raise(PGresult* result, std::string_view query) {
    ErrorReport report;
    if (result != nullptr) {
      report.sqlstate = field(result, PG_DIAG_SQLSTATE);
      report.severity = field(result, PG_DIAG_SEVERITY_NONLOCALIZED);
      report.message = field(result, PG_DIAG_MESSAGE_PRIMARY);
      report.detail = field(result, PG_DIAG_MESSAGE_DETAIL);
      report.hint = field(result, PG_DIAG_MESSAGE_HINT);
      report.schema = field(result, PG_DIAG_SCHEMA_NAME);
      report.table = field(result, PG_DIAG_TABLE_NAME);
      report.column = field(result, PG_DIAG_COLUMN_NAME);
      report.constraint = field(result, PG_DIAG_CONSTRAINT_NAME);
      report.datatype = field(result, PG_DIAG_DATATYPE_NAME);
      if (std::string position = field(result, PG_DIAG_STATEMENT_POSITION); !position.empty())
        report.position = std::atoi(position.c_str());
      if (report.message.empty()) report.message = trimmed(PQresultErrorMessage(result));
      PQclear(result);
    }
    if (report.message.empty()) report.message = trimmed(PQerrorMessage(conn));
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

  PGconn* conn;
  ConnectOptions options;
  StatementCache cache;
  bool transaction_open = false;
  unsigned savepoint_counter = 0;
};

Connection::Connection(std::string_view dsn, ConnectOptions options) {
  std::string target(dsn);
  PGconn* conn = connect_with_backoff(options, [&] { return connect_once(target); });
  state_ = std::make_unique<State>(conn, std::move(options));
  PQsetNoticeProcessor(
      conn,
      [](void* state, const char* message) {
        const auto& handler = static_cast<State*>(state)->options.on_notice;
        try {
          if (handler) handler(message);
        } catch (...) {
          // An exception must not unwind through libpq.
        }
      },
      state_.get());
  // Results are parsed in ISO DateStyle and postgres IntervalStyle (the server defaults).
  const char* date_style = PQparameterStatus(conn, "DateStyle");
  if (date_style == nullptr || std::string_view(date_style).substr(0, 3) != "ISO")
    run_simple("SET DateStyle = 'ISO, MDY'");
  const char* interval_style = PQparameterStatus(conn, "IntervalStyle");
  if (interval_style != nullptr && std::string_view(interval_style) != "postgres")
    run_simple("SET IntervalStyle = postgres");
}

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

Result Connection::run(std::string_view sql, const Params& params) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  State& s = *state_;
  s.require_open();
  const std::string query(sql);
  const int count = static_cast<int>(params.size());
  if (!s.cache.enabled()) {
    return s.check(PQexecParams(s.conn, query.c_str(), count, params.types(), params.values(),
                                nullptr, nullptr, 0),
                   query);
  }
  s.deallocate_retired();
  const std::string key = params.type_signature() + '\n' + query;
  for (bool retried = false;; retried = true) {
    std::string name;
    if (const std::string* cached = s.cache.find(key)) {
      name = *cached;
    } else {
      name = s.cache.insert(key);
      PGresult* prepared = PQprepare(s.conn, name.c_str(), query.c_str(), count, params.types());
      if (prepared == nullptr || PQresultStatus(prepared) != PGRES_COMMAND_OK) {
        s.cache.forget(key);
        s.raise(prepared, query);
      }
      PQclear(prepared);
    }
    PGresult* result =
        PQexecPrepared(s.conn, name.c_str(), count, params.values(), nullptr, nullptr, 0);
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_FATAL_ERROR && result != nullptr) {
      const std::string state = field(result, PG_DIAG_SQLSTATE);
      const bool gone = state == "26000";  // invalid_sql_statement_name
      const bool stale =
          state == "0A000" &&
          field(result, PG_DIAG_MESSAGE_PRIMARY).find("cached plan must not change result type") !=
              std::string::npos;
      if (gone) s.cache.forget(key);
      if (stale) s.cache.retire(key);
      // Re-prepare once, transparently, unless the error has aborted a transaction block.
      if ((gone || stale) && !retried && PQtransactionStatus(s.conn) == PQTRANS_IDLE) {
        PQclear(result);
        continue;
      }
    }
    return s.check(result, query);
  }
}

Result Connection::run_simple(std::string_view sql) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  state_->require_open();
  const std::string query(sql);
  return state_->check(PQexec(state_->conn, query.c_str()), query);
}

Result Connection::query_with(std::string_view sql, const Params& params) {
  Result result = run(sql, params);
  if (PQresultStatus(result.native_handle()) != PGRES_TUPLES_OK)
    throw UsageError("query() ran a statement that returns no rows (" +
                     std::string(result.command_tag()) + "); use execute() for commands");
  return result;
}

CommandResult Connection::execute_with(std::string_view sql, const Params& params) {
  Result result = run(sql, params);
  const bool has_rows = PQresultStatus(result.native_handle()) == PGRES_TUPLES_OK;
  return CommandResult(std::move(result), has_rows);
}

void Connection::execute_script(std::string_view sql) {
  run_simple(sql);
}

Transaction Connection::begin(const TransactionOptions& options) {
  const std::string sql = options.begin_statement();  // validates before touching the server
  if (!state_) throw UsageError("use of a moved-from Connection");
  if (state_->transaction_open || in_transaction())
    throw UsageError("a transaction is already open on this connection; nest with savepoint()");
  run_simple(sql);
  state_->transaction_open = true;
  return Transaction(*this, std::string());
}

void Connection::mark_transaction(bool open) noexcept {
  if (state_) state_->transaction_open = open;
}

unsigned Connection::next_savepoint_number() noexcept {
  return state_ ? ++state_->savepoint_counter : 0;
}

bool Connection::is_open() const noexcept {
  return state_ && state_->conn && PQstatus(state_->conn) == CONNECTION_OK;
}

bool Connection::ping() noexcept {
  if (!is_open()) return false;
  PGresult* result = PQexec(state_->conn, "");
  const bool ok = result != nullptr && PQresultStatus(result) == PGRES_EMPTY_QUERY;
  PQclear(result);
  return ok && is_open();
}

bool Connection::in_transaction() const noexcept {
  if (!is_open()) return false;
  const PGTransactionStatusType status = PQtransactionStatus(state_->conn);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

int Connection::backend_pid() const noexcept {
  return state_ ? PQbackendPID(state_->conn) : 0;
}
int Connection::server_version() const noexcept {
  return state_ ? PQserverVersion(state_->conn) : 0;
}
std::size_t Connection::cached_statements() const noexcept {
  return state_ ? state_->cache.size() : 0;
}
pg_conn* Connection::native_handle() const noexcept {
  return state_ ? state_->conn : nullptr;
}

}  // namespace ouroboros
