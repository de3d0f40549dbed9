#pragma once
// PostgreSQL's own parser (libpg_query) run on a query string, and its parse tree read for what
// each statement does to session state. The only file that sees libpg_query's types.
#include <string_view>

#include "sql/session_effect.h"

namespace ouroboros::sql {

// Parses `text` (up to its first NUL byte, as PostgreSQL reads a Query message) and classifies
// every statement. Never throws; a syntax error is reported in the result.
Classification parse_session_effects(std::string_view text);

}  // namespace ouroboros::sql
