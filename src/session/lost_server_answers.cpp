#include "session/lost_server_answers.h"

#include "protocol/messages.h"
#include "protocol/sqlstate.h"
#include "sql/command.h"

namespace ouroboros::session {

namespace fe = protocol::frontend;

namespace {

bool ends_transaction(std::string_view sql) {
  const sql::CommandKind kind = sql::classify(sql).kind;
  return kind == sql::CommandKind::Rollback || kind == sql::CommandKind::Commit;
}

bool is_copy(char type) { return type == fe::kCopyData || type == fe::kCopyDone || type == fe::kCopyFail; }

}  // namespace

void LostServerAnswers::transaction_lost(std::string reason, Bytes postgres_error, bool reported) {
  transaction_ = Transaction::Lost;
  reported_ = reported;
  batch_rollback_ = false;
  batch_types_.clear();
  reason_ = std::move(reason);
  postgres_error_ = std::move(postgres_error);
}

void LostServerAnswers::pin_lost(std::string detail) {
  pin_ = Pin::Pending;
  pin_detail_ = std::move(detail);
}

bool LostServerAnswers::on_client_message(char type, ByteView body, Bytes& out) {
  if (type == fe::kTerminate) return false;
  if (transaction_ != Transaction::None) {
    answer_in_transaction(type, body, out);
  } else if (pin_ != Pin::None) {
    answer_pin_lost(type, out);
  }
  return true;
}

void LostServerAnswers::answer_in_transaction(char type, ByteView body, Bytes& out) {
  if (is_copy(type)) return;  // the rest of a COPY the server never started
  if (type == fe::kQuery || type == fe::kFunctionCall) {
    const auto sql = type == fe::kQuery ? protocol::decode_query(body) : std::nullopt;
    if (sql && ends_transaction(*sql)) {
      // COMMIT of a failed transaction block reports ROLLBACK, as PostgreSQL does.
      protocol::encode_command_complete(out, "ROLLBACK");
      protocol::encode_ready_for_query(out, 'I');
      transaction_ = Transaction::None;
    } else {
      transaction_error(out);
      protocol::encode_ready_for_query(out, 'E');
    }
    return;
  }
  if (type != fe::kSync) {
    if (type == fe::kParse) {
      const auto parse = protocol::decode_parse(body);
      if (parse && ends_transaction(parse->query)) batch_rollback_ = true;
    }
    batch_types_ += type;
    return;
  }
  // The end of an extended batch: one that ends the transaction succeeds, any other fails once.
  if (batch_rollback_) {
    for (char t : batch_types_) {
      if (t == fe::kParse) protocol::encode_parse_complete(out);
      else if (t == fe::kBind) protocol::MessageWriter(out, protocol::backend::kBindComplete).finish();
      else if (t == fe::kDescribe) protocol::MessageWriter(out, protocol::backend::kNoData).finish();
      else if (t == fe::kExecute) protocol::encode_command_complete(out, "ROLLBACK");
      else if (t == fe::kClose) protocol::encode_close_complete(out);
    }
    protocol::encode_ready_for_query(out, 'I');
    transaction_ = Transaction::None;
  } else {
    if (!batch_types_.empty()) transaction_error(out);
    protocol::encode_ready_for_query(out, 'E');
  }
  batch_types_.clear();
  batch_rollback_ = false;
}

void LostServerAnswers::transaction_error(Bytes& out) {
  if (reported_) {
    protocol::ErrorSpec e;
    e.sqlstate = "25P02";
    e.message = "current transaction is aborted, commands ignored until end of transaction block";
    protocol::encode_error_response(out, e);
    return;
  }
  reported_ = true;
  if (!postgres_error_.empty()) {
    append(out, postgres_error_);
    return;
  }
  protocol::ErrorSpec e;
  e.sqlstate = sqlstate::kConnectionFailure;
  e.message = "server connection lost during the transaction; the transaction was rolled back";
  e.detail = reason_;
  e.hint = "end the transaction with ROLLBACK and retry it";
  protocol::encode_error_response(out, e);
}

void LostServerAnswers::answer_pin_lost(char type, Bytes& out) {
  if (type == fe::kQuery || type == fe::kFunctionCall) {
    pin_error(out);
    protocol::encode_ready_for_query(out, 'I');
    pin_ = Pin::None;
  } else if (type == fe::kSync) {
    // The batch failed at its first message; its Sync ends the error.
    if (pin_ == Pin::Pending) pin_error(out);
    protocol::encode_ready_for_query(out, 'I');
    pin_ = Pin::None;
  } else if (!is_copy(type) && pin_ == Pin::Pending) {
    pin_error(out);  // an extended-protocol batch: skipped up to its Sync, as after any error
    pin_ = Pin::SkippingBatch;
  }
}

void LostServerAnswers::pin_error(Bytes& out) const {
  protocol::ErrorSpec e;
  e.sqlstate = sqlstate::kConnectionFailure;
  e.message = "the server connection this session was pinned to was lost; its session state is gone";
  e.detail = pin_detail_;
  e.hint =
      "the request was not run; recreate what the session needs (temporary tables, advisory "
      "locks, cursors) and continue";
  protocol::encode_error_response(out, e);
}

}  // namespace ouroboros::session
