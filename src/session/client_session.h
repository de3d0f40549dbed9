#pragma once
// One client's life as a state machine: logging in, waiting for a server, idle between
// transactions, linked to a server, the admin console, closed; and what each event does next.
// proxy/ClientConnection owns the socket, the timers and its place in the pool; it reports each
// event here and does what the answer says. The details inside a state have their own pure parts
// (next_startup_step, decide_at_boundary, LostServerAnswers, StatementRetry, ...): this is what
// ties them into one machine, so every transition is decided, and unit-tested, in one place.
//
// An event that does not apply in the current state changes nothing and says so (a server offered
// to a client that closed meanwhile, a cancel for a request that already has its server).
//
// Pure: no I/O, no clock. Not thread-safe (one per client, on its loop); nothing in it assumes
// one loop per process.
#include <cstdint>

#include "session/transaction_boundary.h"

namespace ouroboros::session {

enum class ClientState : std::uint8_t {
  Startup,           // startup packet, SSLRequest and the TLS handshake
  Authenticating,    // host-based rules, the auth_query lookup, the SCRAM/md5 exchange
  WaitingForServer,  // queued in its pool (at login, or with a request in its input buffer)
  Idle,              // transaction/statement mode, between transactions: no server
  Linked,            // a server runs the client's requests
  Admin,             // the admin console (database "ouroboros")
  Closed,
};

const char* to_string(ClientState state);

// What the server's loss under a linked client leaves (proxy/ServerConnection reports it).
struct LostFacts {
  bool cut_mid_message = false;  // the client got part of a message whose rest never comes
  bool recoverable = false;      // the server's state can be lost with an error and the session go on
  bool server_said = false;      // PostgreSQL sent its own FATAL/PANIC before closing
  char transaction_status = 'I';  // as the client last saw it
  int replies_expected = 0;       // ReadyForQuery messages the client still waits for
};

struct LostDecision {
  enum class Step : std::uint8_t {
    Ignore,              // the client was not linked (nothing of it was on that server)
    Close,               // cut mid-message: any further byte would be read as that message's rest
    ForwardFatalAndClose,  // PostgreSQL's own FATAL ends the session, as on a direct connection
    AnswerAndGoOn,       // pooled: the requests in flight get an error, the session goes on (Idle)
    FailAndClose,        // the proxy's 08006 FATAL ends the session
  };
  Step step = Step::Ignore;
  bool in_block = false;          // AnswerAndGoOn: the client is in a failed block until it ends it
  bool use_server_error = false;  // AnswerAndGoOn: PostgreSQL's FATAL, as an ERROR, is the error

  bool operator==(const LostDecision&) const = default;
};

// Which timeout runs while the client is in its current state (limits.*, pools.*.*_timeout).
enum class ClientTimer : std::uint8_t {
  Unchanged,        // not logged in: client_login_timeout keeps running
  None,             // waiting for a server (the pool's query_wait_timeout applies), admin, closed
  Query,            // a request runs on the server: query_timeout
  IdleTransaction,  // a transaction block is open, nothing running: idle_transaction_timeout
  ClientIdle,       // nothing open: client_idle_timeout
};

class ClientSession {
 public:
  ClientState state() const { return state_; }
  bool logged_in() const { return logged_in_; }
  bool pooled() const { return pooled_; }
  bool linked() const { return state_ == ClientState::Linked; }
  bool closed() const { return state_ == ClientState::Closed; }
  // A request went to a server since the last idle ReadyForQuery.
  bool transaction_open() const { return transaction_open_; }
  bool shutdown_requested() const { return shutdown_requested_; }

  // ---- login ----
  // The StartupMessage was accepted: authentication starts.
  void startup_accepted() { move_from(ClientState::Startup, ClientState::Authenticating); }
  // The pool is known (after authentication): transaction/statement mode lend a server per
  // transaction (`pooled`); statement mode refuses transaction blocks.
  void set_mode(bool pooled, bool statement_mode) {
    pooled_ = pooled;
    statement_mode_ = statement_mode;
  }
  // The admin console took the client; it is logged in.
  void admin_started() {
    if (closed()) return;
    state_ = ClientState::Admin;
    logged_in_ = true;
  }
  // The client joins its pool's queue: at login (Authenticating) or with a request (Idle). False,
  // and nothing changes, once closed.
  bool wait_for_server() {
    if (closed()) return false;
    state_ = ClientState::WaitingForServer;
    return true;
  }
  // The login completed from the pool's cached parameters, without a server: Idle until the
  // client's first request.
  bool logged_in_without_server() {
    if (closed()) return false;
    state_ = ClientState::Idle;
    logged_in_ = true;
    return true;
  }

  // ---- a server ----
  enum class AfterLink : std::uint8_t {
    Ignore,                 // the client closed meanwhile
    FinishLoginAndRelease,  // a pooled login borrowed the server only to learn its parameters
    FinishLoginAndRelay,    // session mode: the login completes with this server, which it keeps
    Relay,                  // the client's waiting request goes to the server
  };
  AfterLink server_linked() {
    if (closed()) return AfterLink::Ignore;
    state_ = ClientState::Linked;
    if (logged_in_) return AfterLink::Relay;
    logged_in_ = true;
    return pooled_ ? AfterLink::FinishLoginAndRelease : AfterLink::FinishLoginAndRelay;
  }
  // Bytes arrived while Idle (transaction/statement mode, no server): a Terminate ends the
  // session; anything else is a request that needs a server.
  enum class AfterIdleInput : std::uint8_t { Close, WaitForServer };
  static AfterIdleInput idle_input(bool terminate) {
    return terminate ? AfterIdleInput::Close : AfterIdleInput::WaitForServer;
  }
  // A request went to the linked server. True when it opens a transaction (its start is the
  // transaction's start, for the duration histogram and the per-transaction checks).
  bool request_sent() {
    if (transaction_open_) return false;
    transaction_open_ = true;
    return true;
  }
  // The server answered everything the client sent (ReadyForQuery, nothing outstanding). A
  // transaction that ended is closed here (the caller counts it when `transaction_ended`).
  BoundaryDecision at_boundary(char transaction_status, bool retry_pending) {
    const BoundaryDecision decision = decide_at_boundary(
        {pooled_, statement_mode_, transaction_status, retry_pending, transaction_open_, shutdown_requested_});
    if (decision.transaction_ended) transaction_open_ = false;
    return decision;
  }
  // The server went back to the pool (or was dropped after a refused transaction block).
  enum class AfterRelease : std::uint8_t { Ignore, Shutdown, ReadOn };
  AfterRelease server_released() {
    if (closed()) return AfterRelease::Ignore;
    state_ = ClientState::Idle;
    return shutdown_requested_ ? AfterRelease::Shutdown : AfterRelease::ReadOn;
  }
  // A request waiting for a server was answered by the proxy without running (cancelled, or its
  // prepared statement could not be made again): Idle again. False when the client was not
  // waiting with a request (a login waiting for a server is not answered so).
  bool waiting_request_answered() {
    if (state_ != ClientState::WaitingForServer || !logged_in_) return false;
    state_ = ClientState::Idle;
    return true;
  }
  // The linked server died or was closed under the client.
  LostDecision server_lost(const LostFacts& facts) {
    using Step = LostDecision::Step;
    if (!linked()) return {};
    transaction_open_ = false;  // whatever was open went with the server
    if (facts.cut_mid_message) return {Step::Close};
    if ((!pooled_ || !facts.recoverable) && facts.server_said) return {Step::ForwardFatalAndClose};
    if (pooled_ && facts.recoverable) {
      state_ = ClientState::Idle;
      return {Step::AnswerAndGoOn, facts.transaction_status != 'I', facts.server_said};
    }
    return {Step::FailAndClose};
  }
  // Graceful shutdown: the session ends at once when nothing is open (`busy` false), else at the
  // end of its transaction (at_boundary / server_released say Shutdown).
  bool request_shutdown(bool busy) {
    shutdown_requested_ = true;
    return !busy;
  }
  // False when it was closed already.
  bool close() {
    if (closed()) return false;
    state_ = ClientState::Closed;
    return true;
  }

  // The timeout that applies now; the server's facts only matter while linked.
  ClientTimer timer(bool request_in_flight, char transaction_status) const {
    if (!logged_in_) return ClientTimer::Unchanged;
    if (linked()) {
      if (request_in_flight) return ClientTimer::Query;
      return transaction_status != 'I' ? ClientTimer::IdleTransaction : ClientTimer::ClientIdle;
    }
    return state_ == ClientState::Idle ? ClientTimer::ClientIdle : ClientTimer::None;
  }

 private:
  void move_from(ClientState from, ClientState to) {
    if (state_ == from) state_ = to;
  }

  ClientState state_ = ClientState::Startup;
  bool logged_in_ = false;
  bool pooled_ = false;
  bool statement_mode_ = false;
  bool transaction_open_ = false;
  bool shutdown_requested_ = false;
};

}  // namespace ouroboros::session
