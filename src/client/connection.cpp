// Connection: statement execution, error reporting and the prepared-statement cache.
#include "ouroboros/connection.hpp"

#include <libpq-fe.h>

#include <cstdio>
#include <optional>
#include <random>
#include <utility>

#include "connect.hpp"
#include "connection_state.hpp"

namespace ouroboros {
namespace detail {

std::string error_field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value ? value : "";
}

std::string random_statement_prefix() {
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

}  // namespace detail

// One statement on the extended protocol, through the prepared-statement cache when it is on and
// no trace comment makes the text unique; records what the cache did.
Result Connection::State::run_extended(std::string_view sql, const Params& params,
                                       CacheOutcome& outcome) {
  State& s = *this;
  const int count = static_cast<int>(params.size());
  if (!s.cache.enabled() || s.commented()) {
    outcome = s.cache.enabled() ? CacheOutcome::Bypassed : CacheOutcome::NotUsed;
    const std::string text = s.text_for(sql);
    return s.check(PQexecParams(s.conn, text.c_str(), count, params.types(), params.values(),
                                nullptr, nullptr, 0),
                   sql);
  }
  const std::string query(sql);
  s.deallocate_retired();
  const std::string key = params.type_signature() + '\n' + query;
  for (bool retried = false;; retried = true) {
    std::string name;
    if (const std::string* cached = s.cache.find(key)) {
      name = *cached;
      outcome = CacheOutcome::Hit;
    } else {
      name = s.cache.insert(key);
      outcome = retried ? CacheOutcome::Reprepared : CacheOutcome::Prepared;
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
      const std::string state = detail::error_field(result, PG_DIAG_SQLSTATE);
      const bool gone = state == "26000";  // invalid_sql_statement_name
      const bool stale =
          state == "0A000" &&
          detail::error_field(result, PG_DIAG_MESSAGE_PRIMARY)
                  .find("cached plan must not change result type") != std::string::npos;
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

Connection::Connection(std::string_view dsn, ConnectOptions options) {
  if (options.connect_timeout.count() < 0)
    throw UsageError("ConnectOptions: connect_timeout must not be negative");
  for (const auto& observer : options.observers)
    if (!observer) throw UsageError("ConnectOptions: observers must not be null");
  std::string target(dsn);
  PGconn* conn =
      connect_with_backoff(options, [&] { return connect_once(target, options.connect_timeout); });
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
    state_->check(PQexec(conn, "SET DateStyle = 'ISO, MDY'"), "SET DateStyle");
  const char* interval_style = PQparameterStatus(conn, "IntervalStyle");
  if (interval_style != nullptr && std::string_view(interval_style) != "postgres")
    state_->check(PQexec(conn, "SET IntervalStyle = postgres"), "SET IntervalStyle");
}

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

Result Connection::run(std::string_view sql, const Params& params, StatementKind kind) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  State& s = *state_;
  s.require_open();
  return s.observe(kind, sql, &params,
                   [&](QueryEvent& event) { return s.run_extended(sql, params, event.cache); });
}

Result Connection::run_simple(std::string_view sql, StatementKind kind) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  State& s = *state_;
  s.require_open();
  return s.observe(kind, sql, nullptr, [&](QueryEvent&) {
    return s.check(PQexec(s.conn, s.text_for(sql).c_str()), sql);
  });
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
  if (!options.traceparent.empty()) {
    state_->outer = std::exchange(state_->trace, TraceContext::parse(options.traceparent));
  }
  try {
    run_simple(sql, StatementKind::Transaction);
  } catch (...) {
    end_transaction_trace();
    throw;
  }
  state_->transaction_open = true;
  return Transaction(*this, std::string());
}

void Connection::reset(bool discard_all) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  state_->require_open();
  if (in_transaction()) state_->check(PQexec(state_->conn, "ROLLBACK"), "ROLLBACK");
  state_->transaction_open = false;
  if (discard_all) {
    state_->check(PQexec(state_->conn, "DISCARD ALL"), "DISCARD ALL");
    state_->cache.clear();
  }
}

void Connection::end_transaction_trace() noexcept {
  if (state_ && state_->outer) {
    state_->trace = *state_->outer;
    state_->outer.reset();
  }
}

TraceContext Connection::exchange_trace(TraceContext trace) noexcept {
  return state_ ? std::exchange(state_->trace, trace) : TraceContext{};
}

void Connection::set_attempt(int attempt) noexcept {
  if (state_) state_->attempt = attempt;
}

void Connection::add_observer(std::shared_ptr<QueryObserver> observer) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  if (!observer) throw UsageError("add_observer: the observer is null");
  state_->observers.push_back(std::move(observer));
}

void Connection::set_traceparent(std::string_view traceparent) {
  if (!state_) throw UsageError("use of a moved-from Connection");
  state_->trace = TraceContext::parse(traceparent);
}

const TraceContext& Connection::trace_context() const {
  if (!state_) throw UsageError("use of a moved-from Connection");
  return state_->trace;
}

ScopedTrace::ScopedTrace(Connection& connection, std::string_view traceparent)
    : connection_(connection),
      previous_(connection.exchange_trace(TraceContext::parse(traceparent))) {}

ScopedTrace::~ScopedTrace() {
  connection_.exchange_trace(previous_);
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
