#pragma once
// A cheap look at a query string, before PostgreSQL's parser: statements that cannot change
// session state (SELECT, INSERT, COPY, BEGIN, COMMIT, ...) are answered from their first words,
// so the common case never pays for a parse.
#include <optional>
#include <string_view>

#include "sql/session_effect.h"

namespace ouroboros::sql {

// The classification of `text` when no statement in it needs the parser, or nullopt when one
// might change session state (SET, DISCARD, CREATE, a SELECT that mentions set_config, an
// advisory lock, pg_notify or a temporary table, ...). The statements are those PostgreSQL
// would run (empty ones between semicolons left out).
std::optional<Classification> classify_without_parser(std::string_view text);

// The per-query fast path: true when `text` is one row statement (SELECT, INSERT, UPDATE,
// DELETE, WITH, ...) that mentions none of the words a session-changing call needs. No lexer, no
// allocation. False means "look closer" (classify_without_parser), not "changes state".
bool leaves_session_alone_at_a_glance(std::string_view text);

}  // namespace ouroboros::sql
