#include "session/reply_queue.h"

#include "protocol/messages.h"

namespace ouroboros::session {

namespace {
namespace be = protocol::backend;
using Kind = Expectation::Kind;

void encode_answer(const Expectation& e, Bytes& out) {
  switch (e.answer) {
    case Expectation::Answer::ParseComplete:
      protocol::encode_parse_complete(out);
      break;
    case Expectation::Answer::CloseComplete:
      protocol::encode_close_complete(out);
      break;
    case Expectation::Answer::Deallocate:
      protocol::encode_command_complete(out, "DEALLOCATE");
      protocol::encode_ready_for_query(out, e.status);
      break;
    case Expectation::Answer::Refuse: {
      protocol::ErrorSpec error;
      error.severity = "ERROR";
      error.sqlstate = "0A000";
      error.message = e.refusal->first;
      error.detail = e.refusal->second;
      protocol::encode_error_response(out, error);
      protocol::encode_ready_for_query(out, e.status);
      break;
    }
    case Expectation::Answer::BindComplete:
      protocol::MessageWriter(out, be::kBindComplete).finish();
      break;
    case Expectation::Answer::NoData:
      protocol::MessageWriter(out, be::kNoData).finish();
      break;
    case Expectation::Answer::NoParametersNoData:
      protocol::MessageWriter(out, be::kParameterDescription).int16(0).finish();
      protocol::MessageWriter(out, be::kNoData).finish();
      break;
    case Expectation::Answer::DeallocateTag:
      protocol::encode_command_complete(out, "DEALLOCATE");
      break;
    case Expectation::Answer::None:
      break;
  }
}
}  // namespace

void ReplyQueue::expect(Expectation e, Bytes& to_client) {
  if (e.kind == Kind::Sync) skipping_ = false;
  if (e.ends_with_ready()) ++pending_ready_;
  queue_.push_back(e);
  flush_answers(to_client);
}

void ReplyQueue::flush_answers(Bytes& out) {
  while (!queue_.empty() && queue_.front().fate == Expectation::Fate::Answered) {
    if (queue_.front().ends_with_ready()) --pending_ready_;
    encode_answer(queue_.front(), out);
    queue_.pop_front();
  }
}

void ReplyQueue::pop(Route& route) {
  if (queue_.front().ends_with_ready()) {
    --pending_ready_;
    route.finished_request = true;
  }
  queue_.pop_front();
  flush_answers(route.answers);
}

void ReplyQueue::skip_to_sync(Route& route) {
  // After an error the server ignores every extended-protocol message until Sync: their replies
  // (and the proxy's answers standing in for them) never come.
  while (!queue_.empty() && queue_.front().kind != Kind::Sync) {
    const Expectation& e = queue_.front();
    if (e.kind == Kind::Parse && e.fate != Expectation::Fate::Answered && e.statement_id != 0)
      route.not_prepared.push_back(e.statement_id);
    if (e.kind == Kind::Close && e.fate == Expectation::Fate::Hide && e.statement_id != 0)
      route.not_closed.push_back(e.statement_id);
    if (e.name_change) route.name_changes_undone.push_back(e.name_change);
    if (e.ends_with_ready()) --pending_ready_;
    queue_.pop_front();
  }
  if (queue_.empty()) skipping_ = true;
}

Route ReplyQueue::on_server_message(char type, ByteView body) {
  Route route;
  // Asynchronous messages belong to no request.
  if (type == be::kNoticeResponse || type == be::kParameterStatus || type == be::kNotification) return route;
  if (queue_.empty()) return route;
  const Expectation head = queue_.front();
  route.forward = head.fate != Expectation::Fate::Hide;
  switch (type) {
    case be::kParseComplete:
      if (head.kind == Kind::Parse) pop(route);
      break;
    case be::kBindComplete:
      if (head.kind == Kind::Bind) pop(route);
      break;
    case be::kCloseComplete:
      if (head.kind == Kind::Close) pop(route);
      break;
    case be::kRowDescription:
    case be::kNoData:
      if (head.kind == Kind::DescribeStatement || head.kind == Kind::DescribePortal) pop(route);
      break;
    case be::kCommandComplete:
    case be::kEmptyQueryResponse:
    case be::kPortalSuspended:
      if (head.kind == Kind::Execute) pop(route);
      break;
    case be::kReadyForQuery:
      if (head.ends_with_ready()) pop(route);
      break;
    case be::kErrorResponse: {
      // The client must see every error, including one caused by a Parse the proxy injected.
      route.forward = true;
      if (auto fields = protocol::decode_error_fields(body);
          fields && fields->sqlstate() == "0A000" && fields->message() == kCachedPlanChanged)
        route.stale_statement = head.statement_id;
      if (head.ends_with_ready()) break;  // ReadyForQuery follows and ends it
      if (head.kind == Kind::Parse && head.statement_id != 0) route.not_prepared.push_back(head.statement_id);
      if (head.name_change) route.name_changes_undone.push_back(head.name_change);
      queue_.pop_front();
      skip_to_sync(route);
      break;
    }
    default:
      break;  // DataRow, ParameterDescription, COPY traffic: part of the head's reply
  }
  return route;
}

}  // namespace ouroboros::session
