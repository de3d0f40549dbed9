#pragma once
// Making SQL text safe to write to logs.
#include <string>
#include <string_view>

namespace ouroboros::sql {

// The text with every literal (every kind of string including dollar-quoted and unterminated
// ones, numbers, TRUE/FALSE) replaced by "?"; everything else, comments included, is unchanged.
// $n parameters stay: their values are not in the text.
std::string redact(std::string_view sql);

// What to log for a query. With log_literals false this is redact(sql). With it true the text is
// kept as is, except that statements which may carry a password are still redacted: those with
// the word PASSWORD (ALTER ROLE ... PASSWORD, USER MAPPING OPTIONS (password ...)), and those with
// a string mentioning a password or holding a URI with credentials (dblink_connect('... password=
// ...'), dblink('postgresql://user:secret@host/db', ...), a DO body running ALTER ROLE).
std::string safe_for_log(std::string_view sql, bool log_literals);

// Whether one statement may carry a password (the test safe_for_log applies).
bool may_contain_password(std::string_view statement);

}  // namespace ouroboros::sql
