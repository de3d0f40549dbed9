#pragma once
// Per client: the backend-session state that cannot move to another server, and so pins the
// client to the one it has (temporary objects, session advisory locks, WITH HOLD cursors, LOAD,
// a changed session authorization),
// plus state the proxy will recreate or multiplex rather than pin (LISTEN channels, SQL-level
// prepared statement names). Transactional state (temp objects, cursors, LISTEN) follows
// COMMIT/ROLLBACK/savepoints; advisory locks, LOAD and prepared statements do not, as in
// PostgreSQL. Fed the same events as SessionSettings. Pure; returns values.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "session/transaction_scope.h"
#include "sql/session_effect.h"

namespace ouroboros::session {

enum class PinReason : std::uint8_t {
  None,
  TemporaryObject,
  AdvisoryLock,
  HoldCursor,
  Load,
  // SET SESSION AUTHORIZATION: the session user cannot be set again on another server (only a
  // superuser login may, and the proxy never does), and must not reach the next client.
  SessionAuthorization,
};

// "temporary table", "session advisory lock", "WITH HOLD cursor", "LOAD",
// "SET SESSION AUTHORIZATION", "" for None.
std::string_view pin_reason_text(PinReason reason);

class SessionStateTracker {
 public:
  SessionStateTracker();

  // As SessionSettings::on_statement and on_ready_for_query.
  void on_statement(const sql::ClassifiedStatement& statement, bool succeeded);
  void on_ready_for_query(char status);

  bool pinned() const { return pin_reason() != PinReason::None; }
  // The first reason that holds, in the order of PinReason.
  PinReason pin_reason() const;
  std::string_view reason() const { return pin_reason_text(pin_reason()); }
  // Everything that pins, for a log line or an error: `temporary table "t", 2 session advisory
  // locks, WITH HOLD cursor "c", LOAD`; "" when nothing does.
  std::string describe_pinning_state() const;

  // For `session_state: refuse`: the message of the 0A000 error that answers a statement which
  // would pin its client (naming the statement and why), or nullopt when it may run.
  static std::optional<std::string> refusal(const sql::ClassifiedStatement& statement);

  // Temporary objects by name, with what each is ("table", "view", "sequence").
  const std::map<std::string, std::string>& temp_objects() const { return scope_.current().temp; }
  // Session advisory locks held, counting a key locked twice twice.
  std::size_t advisory_locks() const;
  const std::set<std::string>& hold_cursors() const { return scope_.current().cursors; }
  bool loaded() const { return loaded_; }
  bool session_authorization_changed() const { return scope_.current().session_authorization; }
  const std::set<std::string>& listen_channels() const { return scope_.current().channels; }
  const std::set<std::string>& prepared_statements() const { return prepared_; }

  // Some lock counted may not be held: a pg_try_advisory_lock() (which returns false when the
  // lock is taken) or a key that is not a constant (which no unlock can be matched with).
  // While such a lock is all that pins, the proxy asks the server (pg_locks) at the end of each
  // transaction whether the session holds any advisory lock at all.
  bool advisory_locks_uncertain() const { return uncertain_locks_ && !locks_.empty(); }
  // The server says this session holds no advisory lock (no row in pg_locks with locktype
  // 'advisory' for its pid): forget the ones counted, a failed pg_try_advisory_lock() included.
  void advisory_locks_released() { clear_locks(); }
  // The backend session ended under the client (its server was lost): temporary objects, locks,
  // cursors and loaded libraries went with it; LISTEN channels and SQL-level prepared statements
  // are the client's own and stay (the proxy keeps or recreates them).
  void backend_lost();

 private:
  struct State {
    std::map<std::string, std::string> temp;
    std::set<std::string> cursors;
    std::set<std::string> channels;
    // SET SESSION AUTHORIZATION ran (and RESET SESSION AUTHORIZATION or DISCARD ALL did not).
    bool session_authorization = false;
    void end_transaction() {}
  };

  void apply(const sql::SessionEffect& effect);
  void unlock(const std::string& key);
  void clear_locks() {
    locks_.clear();
    uncertain_locks_ = false;
  }

  TransactionScope<State> scope_;
  // Per key ("s:" for shared locks), how many times it is held; "?" for keys not constant.
  std::map<std::string, std::size_t> locks_;
  bool uncertain_locks_ = false;  // a try-lock or a "?" key was counted since locks_ was empty
  bool loaded_ = false;
  std::set<std::string> prepared_;
};

}  // namespace ouroboros::session
