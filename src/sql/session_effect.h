#pragma once
// What one SQL statement does to the backend session's state, as PostgreSQL's parser reads it:
// the vocabulary shared by the classifier (sql/session_statement.h) and the trackers in
// src/session. Plain values, no parser types.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ouroboros::sql {

enum class SessionEffectKind : std::uint8_t {
  // Transaction control. `name`: the savepoint (Savepoint, Release, RollbackTo).
  Begin,     // BEGIN, START TRANSACTION
  Commit,    // COMMIT, END (a failed block's COMMIT rolls back: the trackers know)
  Rollback,  // ROLLBACK, ABORT
  Savepoint,
  Release,             // RELEASE [SAVEPOINT] name
  RollbackTo,          // ROLLBACK TO [SAVEPOINT] name
  PrepareTransaction,  // PREPARE TRANSACTION 'gid': ends the transaction like a COMMIT
  CommitPrepared,      // COMMIT PREPARED / ROLLBACK PREPARED: outside the session, nothing to track
  // Settings. `name`: the setting, lower-case; `value`: the text PostgreSQL applies.
  Set,         // SET [SESSION] name = value, set_config(name, value, false)
  SetLocal,    // SET LOCAL name = value, set_config(name, value, true)
  SetUnknown,  // set_config() whose value (or scope) is not a constant: read it back
  Reset,       // RESET name, SET name TO DEFAULT
  ResetAll,    // RESET ALL
  // DISCARD; DISCARD ALL also resets every setting, drops temp objects, prepared statements,
  // cursors, LISTEN registrations and advisory locks.
  DiscardAll,
  DiscardPlans,
  DiscardSequences,
  DiscardTemp,
  // SQL-level prepared statements. `name`: as PostgreSQL stores it; Prepare's `value`: the
  // PREPARE statement's own text (not the rest of a multi-statement query string), to run again.
  Prepare,
  Execute,
  Deallocate,
  DeallocateAll,
  // LISTEN/NOTIFY. `name`: the channel; `value`: NOTIFY's payload.
  Listen,
  Unlisten,
  UnlistenAll,
  Notify,  // NOTIFY and pg_notify() with constant arguments
  // Temporary objects that outlive the transaction. `name`: the relation (lower-case as stored);
  // `value`: what it is ("table", "view", "sequence").
  CreateTemp,
  DropObject,  // DROP TABLE|VIEW|SEQUENCE|MATERIALIZED VIEW name: one effect per name
  // Session-level advisory locks. `name`: the key as written ("42", "1,2"), "?" when not a
  // constant; `value`: "try" for the pg_try_ variants (which may hold nothing); xact_ variants
  // are transaction-scoped and not reported.
  AdvisoryLock,        // pg_advisory_lock, pg_try_advisory_lock
  AdvisoryLockShared,  // the _shared variants
  AdvisoryUnlock,
  AdvisoryUnlockShared,
  AdvisoryUnlockAll,
  // Cursors that outlive their transaction. `name`: the cursor.
  DeclareHoldCursor,
  Close,
  CloseAll,
  Load,  // LOAD 'file' (`name`): a library stays loaded for the session
};

struct SessionEffect {
  SessionEffectKind kind = SessionEffectKind::Begin;
  std::string name;
  std::string value;

  bool operator==(const SessionEffect&) const = default;
};

// One statement of a query string, in order: everything it may do to the session. No effects
// for the many statements that leave the session alone (SELECT 1, INSERT ..., CREATE TABLE ...).
struct ClassifiedStatement {
  std::vector<SessionEffect> effects;
  // The statement's command as PostgreSQL names it in messages ("CREATE TABLE", "SELECT"):
  // for an error that names the statement.
  std::string command;

  bool operator==(const ClassifiedStatement&) const = default;
};

// A whole query string.
struct Classification {
  std::vector<ClassifiedStatement> statements;
  // PostgreSQL's parser rejected the text: the server will too, and nothing runs.
  bool syntax_error = false;

  bool operator==(const Classification&) const = default;
};

std::string_view effect_name(SessionEffectKind kind);

}  // namespace ouroboros::sql
