#pragma once
// Query fingerprints: one string per query shape, for grouping statistics and logs.
#include <string>
#include <string_view>

namespace ouroboros::sql {

// Literals (every kind of string, numbers, TRUE/FALSE, $n parameters, and a sign directly in front
// of a number) become "?"; lists made only of placeholders, "(?, ?, ?)" or "ARRAY[?, ?]", become
// "(?)" / "[?]", and so do runs of such rows after VALUES; comments go; bare words are lower-cased;
// quoted identifiers stay as written; trailing and empty statements' semicolons go. Spacing is
// canonical (independent of the input's), so "a=1" and "a = 1" agree:
//   "SELECT * FROM T WHERE id IN (1, 2, 3) AND name = 'x'"
//     -> "select * from t where id in (?) and name = ?"
std::string fingerprint(std::string_view sql);

}  // namespace ouroboros::sql
