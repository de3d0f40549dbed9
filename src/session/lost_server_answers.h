#pragma once
// Transaction/statement mode: the server under a client was lost, but the client's session goes
// on. Until the client is past the loss, the proxy answers its messages itself, as PostgreSQL
// would have:
//  - a transaction block was open: as in a failed block (08006 saying why, then 25P02 for every
//    request) until the client ends it with ROLLBACK or COMMIT (answered ROLLBACK);
//  - the client was pinned to the server and idle: its next request fails (08006, the state
//    that went with the server named), nothing of it run.
// No I/O: the caller feeds whole client messages and sends what comes out.
#include <string>

#include "common/bytes.h"

namespace ouroboros::session {

class LostServerAnswers {
 public:
  // The open transaction block went with the server. `postgres_error` (an ErrorResponse, or
  // empty) is PostgreSQL's own reason, told before the proxy's; `reported`: the requests in
  // flight already heard of the loss, so the next request gets 25P02.
  void transaction_lost(std::string reason, Bytes postgres_error, bool reported);
  // The server the idle client was pinned to is gone; `detail` names what went with it.
  void pin_lost(std::string detail);

  // Messages are still answered here.
  bool active() const { return transaction_ != Transaction::None || pin_ != Pin::None; }
  // One whole client message while active(), its answers appended to `out`. False for a
  // Terminate: the client is leaving.
  bool on_client_message(char type, ByteView body, Bytes& out);

 private:
  void answer_in_transaction(char type, ByteView body, Bytes& out);
  void answer_pin_lost(char type, Bytes& out);
  void transaction_error(Bytes& out);
  void pin_error(Bytes& out) const;

  enum class Transaction : std::uint8_t { None, Lost };
  enum class Pin : std::uint8_t { None, Pending, SkippingBatch };
  Transaction transaction_ = Transaction::None;
  Pin pin_ = Pin::None;
  bool reported_ = false;        // the loss was told; further requests get 25P02
  bool batch_rollback_ = false;  // the extended batch so far ends the transaction
  std::string batch_types_;      // message types of the extended batch so far
  std::string reason_;
  Bytes postgres_error_;
  std::string pin_detail_;
};

}  // namespace ouroboros::session
