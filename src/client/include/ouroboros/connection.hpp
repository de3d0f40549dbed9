// Connection: one libpq connection with typed queries, transactions and a prepared-statement cache.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ouroboros/backoff.hpp"
#include "ouroboros/copy.hpp"
#include "ouroboros/notification.hpp"
#include "ouroboros/observer.hpp"
#include "ouroboros/params.hpp"
#include "ouroboros/result.hpp"
#include "ouroboros/transaction_options.hpp"

struct pg_conn;  // libpq's PGconn

namespace ouroboros {

class Transaction;

struct ConnectOptions {
  // Connecting is retried with exponential backoff and jitter. Permanent refusals (bad password,
  // unknown database or role, no pg_hba.conf entry) are not retried.
  Backoff backoff{};
  // Limit for one connection attempt (libpq's connect_timeout, whole seconds rounded up; libpq
  // waits at least 2 s). 0: the DSN's connect_timeout, or no limit.
  std::chrono::milliseconds connect_timeout{0};
  // Prepared statements kept per connection (least recently used are deallocated); 0 disables
  // preparing: every statement then goes through the unnamed statement.
  std::size_t statement_cache_size = 100;
  SleepFunction sleep{};    // empty: std::this_thread::sleep_for
  RandomFunction random{};  // empty: a thread-local pseudo-random generator
  // Receives server notices and warnings (NOTICE: ..., WARNING: ...); empty: they are dropped.
  std::function<void(std::string_view)> on_notice{};
  // Called at the start and end of every statement (see observer.hpp).
  std::vector<std::shared_ptr<QueryObserver>> observers{};
  // With a traceparent set, append it to each statement as an sqlcommenter comment (such
  // statements bypass the prepared-statement cache: their text differs per trace). false: the
  // trace context only reaches the observers.
  bool trace_comments = true;
};

class Connection {
 public:
  // dsn: a URI (postgresql://user:pw@host:port/db?...) or key=value string, as libpq takes it.
  // Throws ConnectionError (with the last error) after the last attempt, AuthenticationError for
  // a refusal that retrying cannot fix.
  explicit Connection(std::string_view dsn, ConnectOptions options = {});
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A statement that returns rows (SELECT, VALUES, ... RETURNING). Throws UsageError if the
  // statement is a plain command: use execute() for those.
  template <class... Values>
  Result query(std::string_view sql, const Values&... params) {
    return query_with(sql, Params(params...));
  }
  // Any statement: the affected-row count, and the rows if it returned any (RETURNING).
  template <class... Values>
  CommandResult execute(std::string_view sql, const Values&... params) {
    return execute_with(sql, Params(params...));
  }
  // The single value of a query returning exactly one row and one column.
  template <class T, class... Values>
  T query_value(std::string_view sql, const Values&... params) {
    Row row = query(sql, params...).one();
    if (row.size() != 1) throw UsageError("query_value: the query must return exactly one column");
    return row.template get<T>(0);
  }

  Result query_with(std::string_view sql, const Params& params);
  CommandResult execute_with(std::string_view sql, const Params& params);
  // Several ;-separated statements, no parameters, simple protocol (migrations, scripts).
  void execute_script(std::string_view sql);

  // COPY table (columns) FROM STDIN in the given format: write rows (typed) or raw chunks, then
  // finish(). table may be schema-qualified ("s.t"); names are quoted. Server errors are thrown
  // classified, like any statement's (by copy_from when the COPY cannot start, else by finish()).
  CopyWriter copy_from(std::string_view table, const std::vector<std::string>& columns = {},
                       CopyFormat format = CopyFormat::Text);
  // Any COPY ... FROM STDIN statement (own options: DELIMITER, NULL, HEADER, ...); `format`
  // decides how write_row() encodes values.
  CopyWriter copy_from_sql(std::string_view copy_statement, CopyFormat format = CopyFormat::Text);
  // Runs a COPY ... TO STDOUT statement and calls on_row with each data row as the server sent
  // it (text or CSV, with its newline). Returns the row count. If on_row throws, the COPY is
  // cancelled, the connection drained and the exception rethrown.
  std::int64_t copy_to(std::string_view copy_statement,
                       const std::function<void(std::string_view)>& on_row);

  // LISTEN / UNLISTEN on a channel (the name is quoted: case and characters are kept as given).
  void listen(std::string_view channel);
  void unlisten(std::string_view channel);
  void unlisten_all();
  // NOTIFY through pg_notify(channel, payload): inside a transaction it is delivered at COMMIT.
  void notify(std::string_view channel, std::string_view payload = {});
  // A notification already received, or nullopt; never waits (reads what the socket has).
  std::optional<Notification> next_notification();
  // Waits up to timeout for a notification; nullopt when none came.
  std::optional<Notification> wait_for_notification(std::chrono::milliseconds timeout);
  // The connection's socket, for an application's own event loop: when it is readable, call
  // next_notification() until it gives nullopt.
  int socket() const noexcept;

  // Starts a transaction (RAII: rolled back unless committed). UsageError if one is open already
  // (nest with Transaction::savepoint()) or the options are invalid.
  Transaction begin(const TransactionOptions& options = {});

  // Runs fn(Transaction&) in a transaction and commits; re-runs the whole function after a
  // deadlock or serialization failure (per `retry`), propagates anything else at once. A
  // connection lost during COMMIT is an InDoubtError and is never retried.
  template <class Fn>
  auto transaction(const TransactionOptions& options, const RetryPolicy& retry, Fn&& fn);
  template <class Fn>
  auto transaction(const TransactionOptions& options, Fn&& fn) {
    return transaction(options, RetryPolicy{}, std::forward<Fn>(fn));
  }
  template <class Fn>
  auto transaction(Fn&& fn) {
    return transaction(TransactionOptions{}, RetryPolicy{}, std::forward<Fn>(fn));
  }

  // Adds an observer for the statements run from now on.
  void add_observer(std::shared_ptr<QueryObserver> observer);
  // The W3C traceparent for the statements run from now on ("" clears it). UsageError when
  // malformed. A transaction's own traceparent (TransactionOptions) and a ScopedTrace take
  // precedence while they last.
  void set_traceparent(std::string_view traceparent);
  const TraceContext& trace_context() const;

  // Rolls back an open transaction; with discard_all also runs DISCARD ALL and forgets the
  // prepared statements (what Pool's check_on_return does).
  void reset(bool discard_all);

  bool is_open() const noexcept;
  // A round trip to the server; false when the connection is unusable.
  bool ping() noexcept;
  // True when the server side is inside a transaction block (idle in transaction or failed).
  bool in_transaction() const noexcept;
  int backend_pid() const noexcept;
  int server_version() const noexcept;
  std::size_t cached_statements() const noexcept;
  pg_conn* native_handle() const noexcept;

 private:
  friend class Transaction;
  friend class ScopedTrace;
  friend class CopyWriter;
  friend class Pipeline;
  struct State;
  Result run(std::string_view sql, const Params& params, StatementKind kind = StatementKind::Query);
  Result run_simple(std::string_view sql, StatementKind kind = StatementKind::Script);
  void mark_transaction(bool open) noexcept;
  // Back to the trace context in force before the transaction's own traceparent.
  void end_transaction_trace() noexcept;
  TraceContext exchange_trace(TraceContext trace) noexcept;
  void set_attempt(int attempt) noexcept;
  unsigned next_savepoint_number() noexcept;
  std::unique_ptr<State> state_;
};

// The traceparent for the statements run while it exists (a call, a block); then the previous
// one again. UsageError when malformed.
class ScopedTrace {
 public:
  ScopedTrace(Connection& connection, std::string_view traceparent);
  ~ScopedTrace();
  ScopedTrace(const ScopedTrace&) = delete;
  ScopedTrace& operator=(const ScopedTrace&) = delete;

 private:
  Connection& connection_;
  TraceContext previous_;
};

}  // namespace ouroboros

#include "ouroboros/transaction.hpp"
