#pragma once
// A PostgreSQL SQL lexer that never fails: every byte of the input lands in exactly one token,
// so the tokens concatenate back to the input. Assumes standard_conforming_strings = on (the
// default since PostgreSQL 9.1): backslashes escape only inside E'' strings. Unterminated strings,
// quoted identifiers and comments swallow the rest of the input as one token.
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "sql/token.h"

namespace ouroboros::sql {

// Pull-style lexer: allocation-free, tokens are views into the text given to the constructor,
// which must outlive them.
class Lexer {
 public:
  explicit Lexer(std::string_view sql) : sql_(sql) {}

  // The next token, or nullopt at the end of the input.
  std::optional<Token> next();

 private:
  char peek(std::size_t ahead) const {
    return pos_ + ahead < sql_.size() ? sql_[pos_ + ahead] : '\0';
  }
  bool at(std::size_t ahead, char c) const {
    return pos_ + ahead < sql_.size() && sql_[pos_ + ahead] == c;
  }
  Token take(TokenKind kind, std::size_t start, bool terminated = true);

  Token whitespace();
  Token line_comment();
  Token block_comment();
  // A string or quoted identifier whose opening quote is at `quote_pos` (after any prefix).
  Token quoted(TokenKind kind, std::size_t quote_pos, bool backslash_escapes);
  Token dollar();
  Token number();
  Token word();
  Token operator_run();

  std::string_view sql_;
  std::size_t pos_ = 0;
};

// All tokens of `sql`, whitespace and comments included.
std::vector<Token> tokenize(std::string_view sql);

}  // namespace ouroboros::sql
