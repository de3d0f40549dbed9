// Transaction: RAII transaction or savepoint on a Connection.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "ouroboros/connection.hpp"

namespace ouroboros {

class Transaction {
 public:
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back (to the savepoint, for a nested one) unless committed; never throws.
  ~Transaction();

  template <class... Values>
  Result query(std::string_view sql, const Values&... params) {
    return connection().query(sql, params...);
  }
  template <class... Values>
  CommandResult execute(std::string_view sql, const Values&... params) {
    return connection().execute(sql, params...);
  }
  template <class T, class... Values>
  T query_value(std::string_view sql, const Values&... params) {
    return connection().template query_value<T>(sql, params...);
  }

  // COMMIT (RELEASE SAVEPOINT when nested). Losing the connection during COMMIT throws
  // InDoubtError; a COMMIT the server turned into ROLLBACK throws TransactionStateError.
  void commit();
  // ROLLBACK (ROLLBACK TO SAVEPOINT + RELEASE when nested).
  void rollback();
  // A nested transaction on a savepoint: commit() releases it, rollback() undoes only its work.
  Transaction savepoint();

  bool is_open() const noexcept { return open_; }
  bool is_nested() const noexcept { return !savepoint_.empty(); }
  Connection& connection();

 private:
  friend class Connection;
  Transaction(Connection& connection, std::string savepoint);
  void require_open(const char* what) const;

  Connection* connection_;
  std::string savepoint_;  // empty for the top-level transaction
  bool open_ = true;
};

template <class Fn>
auto Connection::transaction(const TransactionOptions& options, const RetryPolicy& retry, Fn&& fn) {
  using Returned = std::invoke_result_t<Fn&, Transaction&>;
  options.validate();
  struct AttemptReset {
    Connection& connection;
    ~AttemptReset() { connection.set_attempt(1); }
  } reset{*this};
  return with_retry(retry, [&](int attempt) -> Returned {
    set_attempt(attempt);
    Transaction tx = begin(options);
    if constexpr (std::is_void_v<Returned>) {
      fn(tx);
      if (tx.is_open()) tx.commit();
    } else {
      Returned value = fn(tx);
      if (tx.is_open()) tx.commit();
      return value;
    }
  });
}

}  // namespace ouroboros
