#pragma once
// Making PostgreSQL's error texts safe to write to logs: they quote the values that failed.
#include <string>
#include <string_view>

namespace ouroboros::sql {

// An error message, DETAIL or HINT with the values it quotes replaced by "?":
// - a row or key after "Key (columns)=(" or "Failing row contains (", up to the last ")" of the
//   text ("Key (email)=(?) already exists.", "Failing row contains (?).");
// - a double-quoted string, up to the last double quote of the text, unless the word before it
//   names an object ("relation", "column", "constraint", "type", ...), whose quoted identifier
//   stays ('invalid input syntax for type integer: "?"', 'unique constraint "users_pkey"').
// PostgreSQL does not escape quotes inside values, so a value is hidden up to the last closing
// character of the text: a value can never end early and show its tail, at the price of hiding
// some harmless text after it.
std::string redact_error_text(std::string_view text);

}  // namespace ouroboros::sql
