// Transaction: COMMIT / ROLLBACK / savepoints, and the in-doubt rule for a lost COMMIT.
#include "ouroboros/transaction.hpp"

namespace ouroboros {

Transaction::Transaction(Connection& connection, std::string savepoint)
    : connection_(&connection), savepoint_(std::move(savepoint)) {}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(other.connection_),
      savepoint_(std::move(other.savepoint_)),
      open_(std::exchange(other.open_, false)) {}

Transaction::~Transaction() {
  if (!open_) return;
  try {
    rollback();
  } catch (...) {
    // The connection is broken or the rollback failed; the server rolls back on its own.
  }
}

Connection& Transaction::connection() {
  require_open("use");
  return *connection_;
}

void Transaction::require_open(const char* what) const {
  if (!open_)
    throw UsageError(std::string("cannot ") + what + " a transaction that is already finished");
}

void Transaction::commit() {
  require_open("commit");
  open_ = false;
  if (is_nested()) {
    connection_->run_simple("RELEASE SAVEPOINT " + savepoint_, StatementKind::Transaction);
    return;
  }
  connection_->mark_transaction(false);
  Result result;
  try {
    result = connection_->run_simple("COMMIT", StatementKind::Transaction);
    connection_->end_transaction_trace();
  } catch (const ConnectionError& lost) {
    connection_->end_transaction_trace();
    ErrorReport report = lost.report();
    report.message =
        "connection lost during COMMIT: the transaction may or may not have been "
        "committed (" +
        report.message + ")";
    throw InDoubtError(std::move(report));
  } catch (...) {
    connection_->end_transaction_trace();
    throw;
  }
  if (result.command_tag() == "ROLLBACK") {
    ErrorReport report;
    report.sqlstate = "25P02";  // in_failed_sql_transaction
    report.severity = "ERROR";
    report.message = "COMMIT rolled the transaction back because an earlier statement failed";
    report.query = "COMMIT";
    throw TransactionStateError(std::move(report));
  }
}

void Transaction::rollback() {
  require_open("roll back");
  open_ = false;
  if (is_nested()) {
    connection_->run_simple(
        "ROLLBACK TO SAVEPOINT " + savepoint_ + "; RELEASE SAVEPOINT " + savepoint_,
        StatementKind::Transaction);
    return;
  }
  connection_->mark_transaction(false);
  struct TraceRestore {
    Connection* connection;
    ~TraceRestore() { connection->end_transaction_trace(); }
  } restore{connection_};
  if (connection_->is_open()) connection_->run_simple("ROLLBACK", StatementKind::Transaction);
}

Transaction Transaction::savepoint() {
  require_open("nest in");
  std::string name = "ouro_sp_" + std::to_string(connection_->next_savepoint_number());
  connection_->run_simple("SAVEPOINT " + name, StatementKind::Transaction);
  return Transaction(*connection_, std::move(name));
}

}  // namespace ouroboros
