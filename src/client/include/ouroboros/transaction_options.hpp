// TransactionOptions: isolation level and access mode, rendered into BEGIN.
#pragma once

#include <optional>
#include <string>

namespace ouroboros {

enum class Isolation { ReadCommitted, RepeatableRead, Serializable };

struct TransactionOptions {
  std::optional<Isolation> isolation{};  // nullopt: the server's default_transaction_isolation
  bool read_only = false;
  // Only meaningful (and only accepted) for SERIALIZABLE READ ONLY: the transaction waits for a
  // safe snapshot and then never fails with a serialization error.
  bool deferrable = false;
  // A W3C traceparent for the statements of this transaction (BEGIN to COMMIT/ROLLBACK), in
  // place of the connection's; empty: the connection's. Checked by validate().
  std::string traceparent{};

  // Throws UsageError for an invalid combination, before anything reaches the server.
  void validate() const;
  // "BEGIN", "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE", ... (validates first)
  std::string begin_statement() const;
};

}  // namespace ouroboros
