#pragma once
// The settings a client expects its session to have, followed with PostgreSQL's transaction
// semantics, so that any server can be brought in line before the client's next transaction.
//
// Start-up values come from the startup packet (and `options=-c ...`). SET / SET SESSION /
// set_config(..., false) stick at COMMIT and are undone at ROLLBACK and at ROLLBACK TO a savepoint
// taken before them; SET LOCAL / set_config(..., true) end with the transaction; RESET x gives the
// client's start-up value, or the server's default when it had none; RESET ALL and DISCARD ALL
// give back the start-up values. Names are lower-case (PostgreSQL compares them without case);
// values are the text the client sent (SET's arguments flattened as PostgreSQL does, see
// sql/session_effect.h), never the server's canonical spelling of them.
//
// A name absent from expected() means "the server's default" (not the string "DEFAULT", which
// would be ambiguous with a value 'DEFAULT').
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "pool/startup_parameters.h"
#include "session/transaction_scope.h"
#include "sql/session_effect.h"

namespace ouroboros::session {

class SessionSettings {
 public:
  using Values = pool::Settings;  // lower-case name -> value

  // `startup`: the client's session parameters (pool::session_parameters of its StartupMessage).
  explicit SessionSettings(const pool::StartupParameters& startup);
  explicit SessionSettings(Values startup_settings);

  // One statement of the client's, in order, when it completed (CommandComplete) or failed
  // (ErrorResponse). Statements after a failed one in the same Query never ran: do not report
  // them.
  void on_statement(const sql::ClassifiedStatement& statement, bool succeeded);
  // ReadyForQuery's transaction status: 'I', 'T' or 'E'.
  void on_ready_for_query(char status);

  // Settings changed for the session to values the classifier could not read (set_config()
  // with computed arguments, SET TIME ZONE INTERVAL ...): read them from the server
  // (`SELECT current_setting(name)`; for "*", a name that was not a constant, every setting whose
  // source is the session) and report each with learned(), then readback_complete(). Read while
  // the transaction is open, a learned value follows the transaction like a SET; read after it,
  // it is what the session has.
  const std::set<std::string>& pending_readback() const { return pending_readback_; }
  void learned(const std::string& name, const std::string& value);
  void readback_complete() { pending_readback_.clear(); }

  const Values& startup() const { return startup_; }
  // What the client expects now (SET LOCAL values included while its transaction lasts).
  Values expected() const;
  std::optional<std::string> value(std::string_view name) const;
  // Changes exactly when expected() changes (a hash of it).
  std::uint64_t version() const { return version_; }
  bool in_transaction() const { return scope_.in_transaction(); }

  // The SQL that brings a server whose settings differ from its defaults by `server` (lower- or
  // mixed-case names, the values the proxy or the client set there) to expected(): one string
  // of `SELECT pg_catalog.set_config('name', 'value', false), ...;` and `RESET "name";`
  // statements, or "" when nothing differs. Read-only parameters (server_version, ...) are left
  // alone. set_config() reads a value as the startup packet does, so a list such as search_path
  // keeps its elements.
  std::string diff(const Values& server) const;

 private:
  struct State {
    Values session;  // what the client set for the session (start-up values included)
    Values local;    // SET LOCAL values of the current transaction
    void end_transaction() { local.clear(); }
  };

  void apply(const sql::SessionEffect& effect);
  void set(const std::string& name, const std::string& value);
  void reset(const std::string& name);
  void refresh_version();

  Values startup_;
  TransactionScope<State> scope_;
  std::set<std::string> pending_readback_;
  std::uint64_t version_ = 0;
};

}  // namespace ouroboros::session
