#pragma once
// A lexical token of PostgreSQL SQL: a kind and a view into the caller's text (no copies).
#include <cstdint>
#include <string_view>

#include "sql/ascii.h"

namespace ouroboros::sql {

enum class TokenKind : std::uint8_t {
  Whitespace,
  Comment,           // -- to end of line, or a (nested) /* */ block, delimiters included
  Identifier,        // a bare word: keywords and unquoted identifiers alike (no keyword table)
  QuotedIdentifier,  // "..." or U&"...", quotes included
  String,            // '...', E'...', N'...', B'...', X'...', U&'...', $$...$$, $tag$...$tag$
  Number,            // 42, 3.14, .5, 1e-3, 0x1F, 1_000
  Parameter,         // $1
  Operator,          // + - = <> ~* :: := .. and other operator-character runs
  Punctuation,       // ( ) [ ] , . :
  Semicolon,
  Unknown,  // one byte PostgreSQL would reject here (a lone $, \, {, NUL ...)
};

struct Token {
  TokenKind kind = TokenKind::Unknown;
  std::string_view text;
  // False for a string, quoted identifier or comment cut off by the end of the input: the token
  // then runs to the end, so nothing after an unbalanced quote is mistaken for SQL.
  bool terminated = true;
};

// Whitespace and comments separate tokens but carry no meaning.
inline bool is_significant(const Token& t) {
  return t.kind != TokenKind::Whitespace && t.kind != TokenKind::Comment;
}

// A bare word equal to `lower_word` (given in lower case) whatever its case in the SQL.
inline bool is_word(const Token& t, std::string_view lower_word) {
  return t.kind == TokenKind::Identifier && equals_ignore_case(t.text, lower_word);
}

inline bool is_symbol(const Token& t, std::string_view symbol) {
  return (t.kind == TokenKind::Punctuation || t.kind == TokenKind::Operator) && t.text == symbol;
}

// Constants whose value may be sensitive: every kind of string, numbers and TRUE/FALSE. NULL is
// not a value, and $n parameters are placeholders whose values travel separately.
inline bool is_literal(const Token& t) {
  return t.kind == TokenKind::String || t.kind == TokenKind::Number || is_word(t, "true") ||
         is_word(t, "false");
}

}  // namespace ouroboros::sql
