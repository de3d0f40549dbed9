// Pipeline: many statements sent in one round trip (libpq's pipeline mode), each with its own
// result or error, in order.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ouroboros/connection.hpp"

namespace ouroboros {

struct PipelineOptions {
  // false (default): a synchronisation point after every statement, so each one stands alone:
  // outside a transaction block each commits on its own and an error fails only its statement.
  // true: one synchronisation point at the end, so the statements form one implicit transaction
  // (outside a transaction block): an error rolls back the statements before it, and those
  // after it are not run (PipelineAborted).
  bool atomic = false;
};

// The outcome of one pipelined statement.
class PipelineResult {
 public:
  bool ok() const noexcept { return !error_; }
  // The statement's result; throws its error (the classified DatabaseError, or PipelineAborted)
  // when it failed.
  const CommandResult& get() const;
  std::exception_ptr error() const noexcept { return error_; }
  const std::string& sqlstate() const noexcept { return sqlstate_; }  // "" when ok

 private:
  friend class Pipeline;
  std::optional<CommandResult> result_;
  std::exception_ptr error_;
  std::string sqlstate_;
};

class Pipeline {
 public:
  explicit Pipeline(Connection& connection, PipelineOptions options = {});

  // Queues a statement (nothing is sent yet); returns its index in the results.
  template <class... Values>
  std::size_t add(std::string_view sql, const Values&... params) {
    return add_with(sql, Params(params...));
  }
  std::size_t add_with(std::string_view sql, Params params);
  std::size_t size() const noexcept { return statements_.size(); }

  // Sends every queued statement, then reads one result per statement, in order. The queue is
  // emptied. Throws only for misuse (UsageError) or when the connection is closed before the
  // start; errors of statements are in their results.
  std::vector<PipelineResult> run();

 private:
  struct Statement {
    std::string sql;
    Params params;
  };
  Connection& connection_;
  PipelineOptions options_;
  std::vector<Statement> statements_;
};

// A pipelined statement not run because an earlier one failed in an atomic pipeline.
class PipelineAborted : public Error {
 public:
  using Error::Error;
};

}  // namespace ouroboros
