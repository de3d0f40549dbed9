#pragma once
// What a statement means for the proxy's bookkeeping: prepared statements created or dropped by
// SQL (rather than by protocol Parse/Close messages) and transaction boundaries.
#include <cstdint>
#include <string>
#include <string_view>

namespace ouroboros::sql {

enum class CommandKind : std::uint8_t {
  Other,
  Begin,          // BEGIN [WORK | TRANSACTION] ..., START TRANSACTION ...
  Commit,         // COMMIT / END [WORK | TRANSACTION] [AND [NO] CHAIN]
  Rollback,       // ROLLBACK / ABORT [WORK | TRANSACTION] [AND [NO] CHAIN], not ROLLBACK TO
  Prepare,        // PREPARE name [(types)] AS statement
  Execute,        // EXECUTE name [(arguments)]
  Deallocate,     // DEALLOCATE [PREPARE] name
  DeallocateAll,  // DEALLOCATE [PREPARE] ALL
  DiscardAll,     // DISCARD ALL (drops every prepared statement too)
};

struct Command {
  CommandKind kind = CommandKind::Other;
  // The statement name for Prepare, Execute and Deallocate, as PostgreSQL stores it: unquoted
  // names lower-cased, quoted names verbatim without quotes, both cut to 63 bytes (NAMEDATALEN).
  std::string name;

  bool operator==(const Command&) const = default;
};

// Classifies the first statement of `sql`, ignoring comments, whitespace and its semicolon.
// Anything not matching one of the grammars above (or not valid SQL) is Other. COMMIT PREPARED,
// ROLLBACK PREPARED and PREPARE TRANSACTION (two-phase commit) are Other. Statement names written
// as U&"..." are not decoded and make the statement Other.
Command classify(std::string_view sql);

}  // namespace ouroboros::sql
