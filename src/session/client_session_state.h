#pragma once
// What one pooled client's statements did to its backend session, followed from the messages it
// sends and the replies it gets, so that state can follow the client from server to server
// (settings) or keep it on one (pinning), and so a server goes back to the pool clean.
//
// The caller reports the client's messages in the order they go to the server (requests the
// proxy answers itself never do) and the server's replies to them in the order the client sees
// them. A request is a simple Query, an extended-protocol batch up to Sync, or a function call:
// each ends with one ReadyForQuery. Within a request each statement ends with a CommandComplete,
// EmptyQueryResponse or PortalSuspended (completed) or an ErrorResponse (failed; the rest of the
// request never runs). Only statements that may change session state are parsed (with
// PostgreSQL's parser, cached by text); every other request costs a counter.
//
// Made lazily, at the first statement that may change session state: most clients never need
// one. `outstanding` then says how many earlier requests are still unanswered, and how many of
// the current batch's Executes were sent, so replies line up.
//
// Pure: no I/O, no clock. Not thread-safe (one per client, on its loop).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/fifo.h"
#include "pool/startup_parameters.h"
#include "session/session_settings.h"
#include "session/session_state_tracker.h"
#include "session/sql_prepared_statements.h"
#include "sql/session_effect.h"
#include "sql/session_statement.h"

namespace ouroboros::session {

class ClientSessionState {
 public:
  struct Outstanding {
    std::size_t requests = 0;        // sent, ReadyForQuery not yet seen
    std::size_t batch_executes = 0;  // Executes of the extended batch being built (no Sync yet)
  };

  ClientSessionState(pool::Settings startup_settings, Outstanding outstanding);

  // ---- the client's messages, as they go to the server ----
  // A simple Query. `classification`: the classifier's (only when may_change_session_state).
  void query(const sql::Classification& classification);
  // A simple Query or a function call that leaves session state alone.
  void plain_request();
  // Extended protocol. Parse's classification only for texts that may change session state
  // (nullptr otherwise); a Parse of a statement name replaces what it meant.
  void parse(std::string_view statement, const sql::Classification* classification);
  void bind(std::string_view portal, std::string_view statement);
  void execute(std::string_view portal);
  void close_statement(std::string_view statement);
  void sync();

  // ---- the replies the client receives ----
  void statement_completed();  // CommandComplete, EmptyQueryResponse, PortalSuspended
  void statement_failed();     // ErrorResponse
  void ready_for_query(char status);
  // The server died under the client: its requests will not be answered and an open transaction
  // is gone (rolled back). The client keeps its settings; the session-bound state (temp tables,
  // locks, ...) went with the server.
  void server_lost();

  // Settings the client expects (start-up values, what it SET; lower-case names).
  const SessionSettings& settings() const { return settings_; }
  SessionSettings& settings() { return settings_; }
  // State that pins the client to its server, LISTEN channels, SQL-level prepared statements.
  const SessionStateTracker& tracker() const { return tracker_; }
  SessionStateTracker& tracker() { return tracker_; }

  // SQL-level prepared statements the client has (name -> its PREPARE), to create on any server.
  const ClientSqlStatements& sql_statements() const { return sql_statements_; }
  ClientSqlStatements& sql_statements() { return sql_statements_; }

  // Settings named by a RESET, RESET ALL or DISCARD ALL that succeeded since the last call
  // ("*" for all): on the server they went back to its default, which may not be the client's
  // start-up value. The caller brings the server in line.
  std::vector<std::string> take_resets();
  // Whether a statement with session effects completed since the last call (the server's
  // session now differs from what the proxy last applied there).
  bool take_changed();
  // Values were learned from the server (SessionSettings::learned): a change like a SET's.
  void note_changed() { changed_ = true; }

 private:
  struct Request {
    std::size_t plain_before = 0;  // unanswered requests sent before this one, not tracked
    std::vector<sql::ClassifiedStatement> statements;  // one per reply that ends a statement
    std::size_t next = 0;
    bool failed = false;
  };

  Request* current();  // the request the next reply belongs to, nullptr when it is not tracked
  void outcome(bool succeeded);

  SessionSettings settings_;
  SessionStateTracker tracker_;
  ClientSqlStatements sql_statements_;
  Fifo<Request> requests_;
  std::size_t plain_tail_ = 0;  // plain requests sent after the last tracked one
  // The extended batch being built: one entry per Execute (no effects for plain statements).
  std::vector<sql::ClassifiedStatement> batch_;
  bool batch_tracked_ = false;
  // What each statement name / portal means, for names whose text may change session state.
  std::unordered_map<std::string, sql::ClassifiedStatement> statements_;
  std::unordered_map<std::string, sql::ClassifiedStatement> portals_;
  std::vector<std::string> resets_;
  bool changed_ = false;
};

}  // namespace ouroboros::session
