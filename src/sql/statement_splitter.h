#pragma once
// Splits SQL text into statements at top-level semicolons, the way psql does: semicolons inside
// strings, quoted identifiers, comments, dollar quotes, parentheses, or the BEGIN ... END body of
// CREATE [OR REPLACE] FUNCTION/PROCEDURE (SQL-standard bodies, PostgreSQL 14+) do not split.
#include <cstddef>
#include <optional>
#include <string_view>

#include "sql/lexer.h"

namespace ouroboros::sql {

struct Statement {
  // From the end of the previous statement up to and including the terminating semicolon (or
  // the end of the input): consecutive statements tile the input exactly.
  std::string_view text;
  // Only whitespace, comments and the semicolon: ";" or "/* note */;".
  bool empty = true;
};

class StatementSplitter {
 public:
  explicit StatementSplitter(std::string_view sql) : sql_(sql), lexer_(sql) {}

  // The next statement, or nullopt once the whole input has been returned.
  std::optional<Statement> next();

 private:
  // Tracks one word of the current statement for the function-body heuristic.
  void see_word(const Token& word);

  std::string_view sql_;
  Lexer lexer_;
  std::size_t start_ = 0;
  int paren_depth_ = 0;
  int begin_depth_ = 0;
  // Progress through the prefix CREATE [OR REPLACE] FUNCTION|PROCEDURE of the current statement.
  int words_seen_ = 0;
  bool prefix_failed_ = false;
  bool routine_body_possible_ = false;
};

// Non-empty statements: "SELECT 1; SELECT 2;" -> 2, "SELECT ';'" -> 1, ";;" -> 0.
std::size_t count_statements(std::string_view sql);

}  // namespace ouroboros::sql
