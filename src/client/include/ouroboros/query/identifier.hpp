// SQL identifiers for the query builder: validated, then always double-quoted.
#pragma once

#include <string>
#include <string_view>

namespace ouroboros::query {

// PostgreSQL truncates longer identifiers (NAMEDATALEN - 1), which could silently merge two names.
inline constexpr std::size_t kMaxIdentifierBytes = 63;

// Throws UsageError unless `name` is a usable identifier: not empty, at most 63 bytes, valid
// UTF-8, no NUL. `what` names the kind of identifier for the message ("table", "alias", ...).
void check_identifier(std::string_view what, std::string_view name);

// "name" with embedded double quotes doubled: always a single identifier, never SQL syntax.
std::string quote_identifier(std::string_view name);

// A LIKE / ILIKE pattern matching `text` literally: \, % and _ are escaped with a backslash
// (PostgreSQL's default LIKE escape character).
std::string escape_like(std::string_view text);

}  // namespace ouroboros::query
