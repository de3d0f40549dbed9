// Connection: one libpq connection with typed queries, transactions and a prepared-statement cache.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include "ouroboros/backoff.hpp"
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
  // Prepared statements kept per connection (least recently used are deallocated); 0 disables
  // preparing: every statement then goes through the unnamed statement.
  std::size_t statement_cache_size = 100;
  SleepFunction sleep{};    // empty: std::this_thread::sleep_for
  RandomFunction random{};  // empty: a thread-local pseudo-random generator
  // Receives server notices and warnings (NOTICE: ..., WARNING: ...); empty: they are dropped.
  std::function<void(std::string_view)> on_notice{};
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
  struct State;
  Result run(std::string_view sql, const Params& params);
  Result run_simple(std::string_view sql);
  void mark_transaction(bool open) noexcept;
  unsigned next_savepoint_number() noexcept;
  std::unique_ptr<State> state_;
};

}  // namespace ouroboros

#include "ouroboros/transaction.hpp"
