#pragma once
// PostgreSQL's transaction semantics for state the proxy follows on a client's behalf: changes
// made inside a transaction stick at COMMIT and are undone at ROLLBACK, at ROLLBACK TO a
// savepoint taken before them, and when an implicit transaction (a multi-statement Query, or
// extended-protocol messages up to Sync) fails. ReadyForQuery's status is the final word.
// `State` is a copyable value with `void end_transaction()` (for what ends with any transaction,
// such as SET LOCAL values). Pure; header-only because it is a template.
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "sql/session_effect.h"

namespace ouroboros::session {

template <typename State>
class TransactionScope {
 public:
  explicit TransactionScope(State initial) : current_(std::move(initial)) {}

  State& current() { return current_; }
  const State& current() const { return current_; }

  bool in_transaction() const { return !frames_.empty(); }
  bool in_block() const { return explicit_block_; }
  // An explicit block after an error: only ROLLBACK, ROLLBACK TO or COMMIT (which rolls back).
  bool failed() const { return failed_; }

  // A statement completed: opens the implicit transaction it ran in when none is open.
  void statement_succeeded() {
    if (frames_.empty()) frames_.push_back(Frame{"", current_});
  }

  // A statement failed: an explicit block is now failed, an implicit transaction will roll back.
  void statement_failed() {
    if (frames_.empty()) return;  // nothing ran before it in this transaction
    failed_ = true;
  }

  // One statement's outcome: transaction control is applied here, every other effect of a
  // statement that succeeded goes to `apply` (the caller's own state).
  template <typename Apply>
  void on_statement(const sql::ClassifiedStatement& statement, bool succeeded, Apply&& apply) {
    if (!succeeded) {
      statement_failed();
      return;
    }
    statement_succeeded();
    for (const sql::SessionEffect& effect : statement.effects) {
      if (!control(effect)) apply(effect);
    }
  }

  // Applies a transaction-control effect of a statement that succeeded (call
  // statement_succeeded() first); false for any other kind of effect.
  bool control(const sql::SessionEffect& effect) {
    using K = sql::SessionEffectKind;
    switch (effect.kind) {
      case K::Begin:
        explicit_block_ = true;
        return true;
      case K::Commit:
      case K::PrepareTransaction:
        // COMMIT of a failed block reports ROLLBACK; PREPARE TRANSACTION ends the session's
        // part of the transaction as a commit would.
        failed_ ? rollback() : commit();
        return true;
      case K::Rollback:
        rollback();
        return true;
      case K::Savepoint:
        frames_.push_back(Frame{effect.name, current_});
        return true;
      case K::Release:
        if (const std::size_t at = find(effect.name); at != 0) truncate(at);
        return true;
      case K::RollbackTo:
        if (const std::size_t at = find(effect.name); at != 0) {
          current_ = frames_[at].state;
          truncate(at + 1);
          failed_ = false;
        }
        return true;
      case K::CommitPrepared:
        return true;
      default:
        return false;
    }
  }

  // ReadyForQuery: 'I' idle (any transaction is over: committed unless it failed), 'T' inside a
  // block, 'E' inside a failed block.
  void ready_for_query(char status) {
    if (status == 'I') {
      if (!frames_.empty()) failed_ ? rollback() : commit();
      explicit_block_ = false;
      failed_ = false;
      return;
    }
    if (frames_.empty()) frames_.push_back(Frame{"", current_});
    explicit_block_ = true;
    failed_ = status == 'E';
  }

 private:
  struct Frame {
    std::string savepoint;  // "" for the transaction's start
    State state;
  };

  // The newest savepoint of that name (index > 0), or 0 when there is none.
  std::size_t find(const std::string& savepoint) const {
    for (std::size_t i = frames_.size(); i > 1; --i) {
      if (frames_[i - 1].savepoint == savepoint) return i - 1;
    }
    return 0;
  }

  void truncate(std::size_t size) {
    frames_.erase(frames_.begin() + static_cast<std::ptrdiff_t>(size), frames_.end());
  }

  void commit() {
    frames_.clear();
    end();
  }

  void rollback() {
    if (!frames_.empty()) current_ = frames_.front().state;
    frames_.clear();
    end();
  }

  void end() {
    explicit_block_ = false;
    failed_ = false;
    current_.end_transaction();
  }

  State current_;
  std::vector<Frame> frames_;
  bool explicit_block_ = false;
  bool failed_ = false;
};

}  // namespace ouroboros::session
