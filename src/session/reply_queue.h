#pragma once
// What a server will answer, in order, to the messages sent to it for one client, and what to do
// with each answer: pass it to the client, hide it (replies to messages the proxy injected), or
// answer in the server's place (a ParseComplete for a statement the server already has). Keeps
// replies in exact pipeline order, including errors in the middle of a pipeline (the server then
// skips everything up to the next Sync, and so do the proxy's own answers).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/fifo.h"

namespace ouroboros::session {

struct PreparedStatement;
// A client statement name and the statement it stood for.
using NamedStatement = std::pair<std::string, std::shared_ptr<const PreparedStatement>>;

// A client's Parse of a name it already has, for the server to refuse under `existing`'s server
// name. The proxy's view of the server runs ahead of it (a Parse still in flight may be
// skipped), so the server may lack that name: then it accepts, and PostgreSQL too would have
// created the client's name, with the `requested` text.
struct DuplicateParse {
  std::string client_name;
  std::uint64_t existing = 0;
  std::shared_ptr<const PreparedStatement> requested;
};

struct Expectation {
  enum class Kind : std::uint8_t {
    Parse, Bind, Close, DescribeStatement, DescribePortal, Execute,
    Sync, Query, FunctionCall,  // these end with ReadyForQuery
  };
  enum class Fate : std::uint8_t {
    Forward,   // the server's reply goes to the client
    Hide,      // the proxy sent the message; the reply is dropped
    Answered,  // the proxy answers itself; the server sends nothing
  };
  enum class Answer : std::uint8_t {
    None, ParseComplete, CloseComplete, Deallocate, Refuse,
    BindComplete, NoData, NoParametersNoData, DeallocateTag,  // an extended-protocol DEALLOCATE the proxy answers
  };

  Kind kind = Kind::Query;
  Fate fate = Fate::Forward;
  Answer answer = Answer::None;
  std::uint64_t statement_id = 0;  // Parse/Bind/Describe of a proxy statement
  char status = 'I';               // Answer::Deallocate/Refuse: transaction status for its ReadyForQuery
                                   // when the queue has seen no ReadyForQuery yet
  // Answer::Refuse: message, detail. On a forwarded Query or Parse: it stands in for a statement
  // the proxy refused (session_state: refuse) and fails on purpose; the client hears this 0A000
  // refusal instead of the server's error.
  std::shared_ptr<const std::pair<std::string, std::string>> refusal;
  // A forwarded Parse of a statement name the client already has, sent under that statement's
  // server name so the server fails it (and skips to Sync) as it would the client's name: its
  // 42P05 ErrorResponse is reported under the client's statement name instead.
  std::shared_ptr<const DuplicateParse> duplicate;
  // The hidden Parse that follows a duplicate's (and a Close), putting this statement back in
  // case the server lacked it: skipped, it tells nothing; failing, the statement is not there.
  std::uint64_t restores = 0;
  // A client's named Parse (sent or answered by the proxy): if the server rejects or skips it,
  // the client's name must go, as PostgreSQL never creates it.
  std::shared_ptr<const std::string> client_name;
  // A client's Close of a named statement, answered by the proxy: if the server skips it (after
  // an error earlier in the pipeline), PostgreSQL keeps the statement, so the name comes back.
  std::shared_ptr<const NamedStatement> closed_name;
  // A Query the proxy sent for its own purposes in the middle of a client's session: every reply
  // is hidden, errors included, and its ReadyForQuery ends no client request.
  bool internal = false;

  bool ends_with_ready() const { return kind == Kind::Sync || kind == Kind::Query || kind == Kind::FunctionCall; }
};

inline Expectation expectation(Expectation::Kind kind) {
  Expectation e;
  e.kind = kind;
  return e;
}

// The verdict on one server message.
struct Route {
  bool forward = true;
  Bytes answers;  // the proxy's own answers that fall due right after this message
  // Statements whose Parse the server never ran or rejected, or whose plan went stale: the
  // caller forgets them on this server (stale ones must also be closed there).
  std::vector<std::uint64_t> not_prepared;
  // Statements the server has although the proxy may have forgotten them: a Parse of one refused
  // with 42P05 (a proxy name only ever holds its own text), or one put back after a duplicate
  // Parse. The caller tracks them again (after forgetting not_prepared).
  std::vector<std::uint64_t> found_prepared;
  std::uint64_t stale_statement = 0;
  // Evictions (Close) the server skipped after an error: still prepared there, to close later.
  std::vector<std::uint64_t> not_closed;
  // Client statement names (with the statement each stood for) whose Parse failed or was
  // skipped: the caller drops them from the client's names if they still mean that statement.
  std::vector<std::pair<std::string, std::uint64_t>> names_not_prepared;
  // Client names whose Close the server skipped: the caller gives them back (after dropping
  // names_not_prepared).
  std::vector<NamedStatement> names_restored;
  bool finished_request = false;  // a ReadyForQuery ended a Sync/Query/FunctionCall
  bool internal = false;           // a reply to the proxy's own internal Query (never the client's)
  bool finished_internal = false;  // its ReadyForQuery
  // The ErrorResponse was a refused statement's stand-in: `answers` starts with the refusal the
  // client gets in its place.
  bool refused = false;

  // As a new Route, keeping the storage.
  void reset() {
    forward = true;
    answers.clear();
    not_prepared.clear();
    found_prepared.clear();
    stale_statement = 0;
    not_closed.clear();
    names_not_prepared.clear();
    names_restored.clear();
    finished_request = internal = finished_internal = refused = false;
  }
};

struct NameChange;  // reply_queue.cpp

class ReplyQueue {
 public:
  // Appends an expectation; an answer that is already due goes to `to_client` at once.
  void expect(Expectation e, Bytes& to_client);
  // The common case of expect(): a forwarded message's reply, nothing else attached. Built in
  // its slot; no answer can fall due behind it.
  void expect_reply(Expectation::Kind kind, std::uint64_t statement_id = 0) {
    if (kind == Expectation::Kind::Sync) skipping_ = false;
    Expectation& e = queue_.emplace_back();
    e.kind = kind;
    e.statement_id = statement_id;
    count_in(e);
  }
  // After an error with no Sync queued yet, the server ignores every message until the next
  // Sync: the caller drops such messages instead of sending them.
  bool skipping() const { return skipping_; }
  // Called for every message from the server, before it is forwarded. `body` is needed for
  // ErrorResponse (to recognise a stale cached plan) and ReadyForQuery (the transaction status
  // of the proxy's own answers that end with one); an empty view will do for the others.
  // `route` is reset first: a caller that keeps one reuses its buffers' storage.
  void on_server_message(char type, ByteView body, Route& route);
  Route on_server_message(char type, ByteView body) {
    Route route;
    on_server_message(type, body, route);
    return route;
  }

  // The Query or Parse expected last (hidden ones aside) is a refused statement's stand-in: its
  // ErrorResponse reaches the client as `refusal` (0A000), everything else as the server sends it.
  void refuse_last(std::shared_ptr<const std::pair<std::string, std::string>> refusal);

  // ReadyForQuery messages still to come.
  int pending_ready() const { return pending_ready_; }
  bool empty() const { return queue_.empty(); }
  std::size_t size() const { return queue_.size(); }
  void clear() {
    queue_.clear();
    pending_ready_ = 0;
    answered_ = 0;
    skipping_ = false;
    status_ = 0;
    skipped_.clear();
  }

 private:
  void pop(Route& route);
  // The counts kept of the queue's expectations, as one joins it or leaves it.
  void count_in(const Expectation& e) {
    if (e.ends_with_ready()) ++pending_ready_;
    if (e.fate == Expectation::Fate::Answered) ++answered_;
  }
  void count_out(const Expectation& e) {
    if (e.ends_with_ready()) --pending_ready_;
    if (e.fate == Expectation::Fate::Answered) --answered_;
  }
  void flush_answers(Bytes& out);
  void skip_to_sync(Route& route, std::vector<NameChange>& names);

  // The proxy's Parse and Close of its statements, as the server answers them: what the caller
  // must correct in its view of the server's statements (Route::not_prepared, not_closed,
  // found_prepared). `id`'s message ran: the server has it now (`found`) or not.
  void ran(std::uint64_t id, bool found, Route& route);
  // `id`'s Parse or Close was skipped or failed. `server_has`: what the server has now, when
  // the reply says so (a failed restoring Parse: not).
  void did_not_run(Expectation::Kind kind, std::uint64_t id, Route& route, std::optional<bool> server_has = {});
  bool sent_later(std::uint64_t id) const;  // a Parse or Close of `id` the server has yet to answer
  // Statements a skipped message left as they were while a later Parse or Close of them was still
  // on its way: whether the server has each (rare; empty almost always).
  std::vector<std::pair<std::uint64_t, bool>> skipped_;
  Fifo<Expectation> queue_;  // a vector reused once drained: no allocation per message
  int pending_ready_ = 0;
  int answered_ = 0;  // expectations the proxy answers itself (Fate::Answered) still queued
  bool skipping_ = false;
  char status_ = 0;  // of the latest ReadyForQuery; 0 before the first
};

// The exact message a PostgreSQL server gives for a plan invalidated by DDL (SQLSTATE 0A000).
inline constexpr std::string_view kCachedPlanChanged = "cached plan must not change result type";

}  // namespace ouroboros::session
