#pragma once
// SQL-level prepared statements (`PREPARE name AS ...`) in transaction and statement mode: each
// client's are its own, created again on whatever server it gets, and never seen by another
// client. Per client, what it has prepared (PostgreSQL's semantics: PREPARE and DEALLOCATE are
// not transactional, DEALLOCATE ALL and DISCARD ALL drop them all). Per server, which statements
// it holds, and the SQL that makes it hold exactly one client's: DEALLOCATE for the names it holds
// that the client lacks (or has with another text), PREPARE for the client's that it lacks.
// A server only ever holds one client's statements, those of the last client it served: the
// usual case (same client, nothing changed; or nobody uses SQL-level statements) is one
// comparison and no SQL. Statements of the proxy's own statement cache (protocol-level,
// `_ouroboros_N`) are not touched. Pure; returns values.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/session_effect.h"

namespace ouroboros::session {

struct SqlStatement {
  std::string text;  // the client's PREPARE statement, as it wrote it
  // The search_path in force when it was prepared (nullopt: the server's default): PostgreSQL
  // resolves the statement's names with it at PREPARE, so it is prepared again with it.
  std::optional<std::string> search_path;

  bool operator==(const SqlStatement&) const = default;
};

using SqlStatementMap = std::map<std::string, SqlStatement>;  // by name, as PostgreSQL stores it

class ClientSqlStatements {
 public:
  // One statement of the client's, when it completed or failed (as SessionSettings::on_statement).
  // `search_path`: the client's value after the statement (nullopt: the server's default).
  void on_statement(const sql::ClassifiedStatement& statement, bool succeeded,
                    const std::optional<std::string>& search_path);
  // It could not be prepared again on another server: it no longer exists.
  void forget(const std::string& name);

  bool contains(const std::string& name) const { return statements_.count(name) != 0; }
  const SqlStatementMap& statements() const { return statements_; }
  // Changes whenever statements() does.
  std::uint64_t version() const { return version_; }

 private:
  SqlStatementMap statements_;
  std::uint64_t version_ = 0;
};

class ServerSqlStatements {
 public:
  using Owner = std::uint64_t;  // a client id; 0 for none

  struct SyncResult {
    enum class Kind : std::uint8_t {
      None,              // no alignment was running
      Done,              // the server holds exactly the client's statements
      NotReached,        // the internal query failed, but not in a statement of the batch
      PrepareFailed,     // PostgreSQL refused to prepare `name` again (a table dropped, ...)
      DeallocateFailed,  // the record was wrong: the server's statements are unknown
    };
    Kind kind = Kind::None;
    std::string name;
  };

  // The statements that make this server hold exactly `owner`'s `statements` (at `version`), to
  // run in this order as one extended-protocol batch (so that each PREPARE's text is its own and
  // an error skips the rest) after the client's settings were applied (its search_path is then
  // `search_path_now`); none when the server already holds them. Pending until finish_sync().
  std::vector<std::string> begin_sync(Owner owner, std::uint64_t version,
                                      const SqlStatementMap& statements,
                                      const std::optional<std::string>& search_path_now);
  // begin_sync's answer for a client without statements when this server holds none either
  // (the usual case), at the cost of one test: true, and nothing to run; false: call begin_sync.
  // begin_sync starts with it.
  bool sync_without_statements(Owner owner, std::uint64_t version) {
    if (!statements_.empty()) return false;
    pending_.reset();
    owner_ = owner;
    version_ = version;
    return true;
  }
  // The batch ended: `ok`, or `completed` of its statements completed before one failed (the
  // failure may also have been elsewhere in the internal query). The record keeps exactly what
  // ran: PREPARE and DEALLOCATE are not undone by the failure of their implicit transaction.
  SyncResult finish_sync(bool ok, std::size_t completed);

  // The linked client's own statements ran here: the server now holds exactly its statements.
  void now_holds(Owner owner, const ClientSqlStatements& client);
  // DEALLOCATE ALL or DISCARD ALL ran on the server.
  void clear();

  const SqlStatementMap& statements() const { return statements_; }
  Owner owner() const { return owner_; }

 private:
  struct Step {
    std::string sql;
    enum class Kind : std::uint8_t { Setting, Deallocate, Prepare } kind = Kind::Setting;
    std::string name;
    SqlStatement statement;
  };
  struct Pending {
    Owner owner = 0;
    std::uint64_t version = 0;
    std::vector<Step> steps;
  };

  void apply(const Step& step);

  SqlStatementMap statements_;
  Owner owner_ = 0;
  std::uint64_t version_ = 0;
  std::optional<Pending> pending_;
};

// `name` as a double-quoted identifier.
std::string quote_sql_identifier(std::string_view name);

}  // namespace ouroboros::session
