#include "session/reply_queue.h"

#include <algorithm>

#include "protocol/messages.h"

namespace ouroboros::session {

namespace {
namespace be = protocol::backend;
using Kind = Expectation::Kind;

void encode_refusal(const std::pair<std::string, std::string>& refusal, Bytes& out) {
  protocol::ErrorSpec error;
  error.severity = "ERROR";
  error.sqlstate = "0A000";
  error.message = refusal.first;
  error.detail = refusal.second;
  protocol::encode_error_response(out, error);
}

// `status`: the transaction status of the server's latest ReadyForQuery, for the answers that end
// with one of their own.
void encode_answer(const Expectation& e, char status, Bytes& out) {
  switch (e.answer) {
    case Expectation::Answer::ParseComplete:
      protocol::encode_parse_complete(out);
      break;
    case Expectation::Answer::CloseComplete:
      protocol::encode_close_complete(out);
      break;
    case Expectation::Answer::Deallocate:
      protocol::encode_command_complete(out, "DEALLOCATE");
      protocol::encode_ready_for_query(out, status);
      break;
    case Expectation::Answer::Refuse:
      encode_refusal(*e.refusal, out);
      protocol::encode_ready_for_query(out, status);
      break;
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
void encode_duplicate_statement(const std::string& name, Bytes& out) {
  const std::string message = "prepared statement \"" + name + "\" already exists";
  protocol::ErrorSpec error;
  error.severity = "ERROR";
  error.sqlstate = "42P05";
  error.message = message;
  protocol::encode_error_response(out, error);
}
}  // namespace

// What failed or skipped messages did to one client name, to be undone: the name as it was
// before the first such message and as the last one left it (0: absent).
struct NameChange {
  std::string name;
  std::shared_ptr<const PreparedStatement> before;
  std::uint64_t after = 0;
};

namespace {

// The proxy statement a message the proxy sent parses or closes on the server, which its view of
// the server's statements counted when it sent it (a Parse of it, an eviction or a pending
// Close); 0 for any other message.
std::uint64_t statement_changed_by(const Expectation& e) {
  if (e.statement_id == 0 || e.fate == Expectation::Fate::Answered) return 0;
  if (e.kind == Kind::Parse) return e.statement_id;
  if (e.kind == Kind::Close && e.fate == Expectation::Fate::Hide) return e.statement_id;
  return 0;
}

void note_name_change(const Expectation& e, std::vector<NameChange>& changes) {
  NameChange change;
  if (e.kind == Kind::Parse && e.client_name) {
    change = {*e.client_name, nullptr, e.statement_id};  // a new name: absent before
  } else if (e.kind == Kind::Close && e.closed_name) {
    change = {e.closed_name->first, e.closed_name->second, 0};
  } else {
    return;
  }
  for (NameChange& earlier : changes) {
    if (earlier.name == change.name) {
      earlier.after = change.after;  // the first message tells what was there before
      return;
    }
  }
  changes.push_back(std::move(change));
}

// The caller (StatementRewriter::forget_names) drops a name still as the messages left it, then
// gives back a name that was there before and is absent now.
void report_name_changes(const std::vector<NameChange>& changes, Route& route) {
  for (const NameChange& change : changes) {
    if (change.after != 0) route.names_not_prepared.emplace_back(change.name, change.after);
    if (change.before) route.names_restored.emplace_back(change.name, change.before);
  }
}

}  // namespace

void ReplyQueue::expect(Expectation e, Bytes& to_client) {
  if (e.kind == Kind::Sync) skipping_ = false;
  count_in(e);
  queue_.push_back(std::move(e));
  flush_answers(to_client);
}

void ReplyQueue::refuse_last(std::shared_ptr<const std::pair<std::string, std::string>> refusal) {
  for (auto it = queue_.rbegin(); it != queue_.rend(); ++it) {
    if (it->fate == Expectation::Fate::Hide) continue;  // a Close or Parse the proxy added after it
    if (it->kind == Kind::Query || it->kind == Kind::Parse) it->refusal = std::move(refusal);
    return;
  }
}

void ReplyQueue::flush_answers(Bytes& out) {
  if (answered_ == 0) return;  // the usual case: every reply comes from the server
  while (!queue_.empty() && queue_.front().fate == Expectation::Fate::Answered) {
    count_out(queue_.front());
    // Requests answered before this one may have changed the status since it was queued.
    encode_answer(queue_.front(), status_ != 0 ? status_ : queue_.front().status, out);
    queue_.drop_front();
  }
}

void ReplyQueue::pop(Route& route) {
  count_out(queue_.front());
  if (queue_.front().ends_with_ready())
    (queue_.front().internal ? route.finished_internal : route.finished_request) = true;
  queue_.drop_front();
  flush_answers(route.answers);
}

void ReplyQueue::skip_to_sync(Route& route, std::vector<NameChange>& names) {
  // After an error the server ignores every extended-protocol message until Sync: their replies
  // (and the proxy's answers standing in for them) never come.
  while (!queue_.empty() && queue_.front().kind != Kind::Sync) {
    const Expectation e = queue_.take_front();
    count_out(e);
    note_name_change(e, names);
    if (const std::uint64_t id = statement_changed_by(e)) did_not_run(e.kind, id, route);
  }
  if (queue_.empty()) skipping_ = true;
}

bool ReplyQueue::sent_later(std::uint64_t id) const {
  for (const Expectation& e : queue_)
    if (statement_changed_by(e) == id) return true;
  return false;
}

void ReplyQueue::ran(std::uint64_t id, bool found, Route& route) {
  std::erase_if(skipped_, [id](const auto& entry) { return entry.first == id; });
  if (found && !sent_later(id)) route.found_prepared.push_back(id);
}

void ReplyQueue::did_not_run(Kind kind, std::uint64_t id, Route& route, std::optional<bool> server_has) {
  // The proxy's view counts every Parse and Close it sent: a Parse went out when it believed the
  // server lacked the statement, a Close when it believed the server had it. A message that did
  // not run left the server as it was before it, which is what the last skipped message of that
  // statement said, or else the opposite of what this one was to do.
  auto known = std::find_if(skipped_.begin(), skipped_.end(), [id](const auto& entry) { return entry.first == id; });
  const bool has = server_has ? *server_has : known != skipped_.end() ? known->second : kind == Kind::Close;
  if (sent_later(id)) {
    // A later Parse or Close of it is still on its way and the view already counts it: decide
    // when that one is answered, knowing what the server has now.
    if (known != skipped_.end()) known->second = has;
    else skipped_.emplace_back(id, has);
    return;
  }
  if (known != skipped_.end()) skipped_.erase(known);
  const bool believed = server_has ? true : kind == Kind::Parse;  // the view after this message
  if (has == believed) return;
  (has ? route.not_closed : route.not_prepared).push_back(id);
}

void ReplyQueue::on_server_message(char type, ByteView body, Route& route) {
  route.reset();
  // Asynchronous messages belong to no request.
  if (type == be::kNoticeResponse || type == be::kParameterStatus || type == be::kNotification) return;
  if (queue_.empty()) return;
  const Expectation& head = queue_.front();  // every branch reads it before popping
  route.forward = head.fate != Expectation::Fate::Hide;
  route.internal = head.internal;
  switch (type) {
    case be::kParseComplete:
      if (head.kind != Kind::Parse) break;
      if (head.duplicate) {
        // The server lacked the name (the Close and Parse queued behind put the statement
        // back): as in PostgreSQL, the client's name now means the text it sent.
        route.names_not_prepared.emplace_back(head.duplicate->client_name,
                                              head.duplicate->existing);
        route.names_restored.emplace_back(head.duplicate->client_name, head.duplicate->requested);
      }
      {
        const std::uint64_t prepared = head.statement_id, restored = head.restores;
        pop(route);
        if (prepared != 0 && !skipped_.empty()) ran(prepared, false, route);
        if (restored != 0) ran(restored, true, route);
      }
      break;
    case be::kBindComplete:
      if (head.kind == Kind::Bind) pop(route);
      break;
    case be::kCloseComplete:
      if (head.kind != Kind::Close) break;
      {
        const std::uint64_t closed = head.statement_id;
        pop(route);
        if (closed != 0 && !skipped_.empty()) ran(closed, false, route);
      }
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
      if (body.size() == 1) status_ = static_cast<char>(body[0]);
      if (head.ends_with_ready()) pop(route);
      break;
    case be::kErrorResponse: {
      // The client must see every error, including one caused by a Parse the proxy injected;
      // not one of the proxy's own internal queries.
      route.forward = !head.internal;
      const auto fields = protocol::decode_error_fields(body);
      if (fields && fields->sqlstate() == "0A000" && fields->message() == kCachedPlanChanged)
        route.stale_statement = head.statement_id;
      // The server refused the statement's server name: the client hears of its own name. Other
      // errors (a syntax error is found first) are about the query text and pass as they are.
      if (head.duplicate && fields && fields->sqlstate() == "42P05") {
        route.forward = false;
        encode_duplicate_statement(head.duplicate->client_name, route.answers);
      }
      if (head.refusal && head.fate != Expectation::Fate::Answered) {
        route.forward = false;  // the stand-in of a refused statement failed, as it must
        route.refused = true;
        route.answers.clear();
        encode_refusal(*head.refusal, route.answers);
      }
      if (head.ends_with_ready()) break;  // ReadyForQuery follows and ends it
      std::vector<NameChange> names;
      note_name_change(head, names);
      const Expectation failed = queue_.take_front();
      count_out(failed);  // not one that ends with ReadyForQuery (see above)
      if (failed.kind == Kind::Parse && failed.statement_id != 0) {
        // 42P05: the server has it (a proxy name only ever holds its own text).
        if (fields && fields->sqlstate() == "42P05") ran(failed.statement_id, true, route);
        else did_not_run(Kind::Parse, failed.statement_id, route);
      }
      // A failed restoring Parse: the Close before it ran, so the statement is gone.
      if (failed.kind == Kind::Parse && failed.restores != 0)
        did_not_run(Kind::Parse, failed.restores, route, false);
      skip_to_sync(route, names);
      report_name_changes(names, route);
      break;
    }
    default:
      break;  // DataRow, ParameterDescription, COPY traffic: part of the head's reply
  }
}

}  // namespace ouroboros::session
