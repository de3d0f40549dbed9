#include "sql/lexer.h"

#include <string_view>

namespace ouroboros::sql {
namespace {

// Character classes follow PostgreSQL's scan.l. Bytes >= 0x80 count as letters so identifiers in
// any multibyte encoding stay whole.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
// Unquoted identifiers may contain '$'; dollar-quote tags may not (else $a$b$ would be ambiguous).
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c) || c == '$';
}
bool is_tag_char(char c) {
  return is_ident_start(c) || is_digit(c);
}
bool is_operator_char(char c) {
  return std::string_view("~!@#^&|`?+-*/%<>=").find(c) != std::string_view::npos;
}
bool is_radix_digit(char c, char radix) {
  switch (radix) {
    case 'x':
      return is_hex_digit(c);
    case 'o':
      return c >= '0' && c <= '7';
    case 'b':
      return c == '0' || c == '1';
    default:
      return is_digit(c);
  }
}

}  // namespace

std::optional<Token> Lexer::next() {
  if (pos_ >= sql_.size()) return std::nullopt;
  const char c = sql_[pos_];
  const char lower = to_lower_ascii(c);
  if (is_space(c)) return whitespace();
  if (c == '-' && at(1, '-')) return line_comment();
  if (c == '/' && at(1, '*')) return block_comment();
  if (c == '\'') return quoted(TokenKind::String, pos_, false);
  if (c == '"') return quoted(TokenKind::QuotedIdentifier, pos_, false);
  if (lower == 'e' && at(1, '\'')) return quoted(TokenKind::String, pos_ + 1, true);
  if ((lower == 'b' || lower == 'x' || lower == 'n') && at(1, '\''))
    return quoted(TokenKind::String, pos_ + 1, false);
  if (lower == 'u' && at(1, '&') && at(2, '\'')) return quoted(TokenKind::String, pos_ + 2, false);
  if (lower == 'u' && at(1, '&') && at(2, '"'))
    return quoted(TokenKind::QuotedIdentifier, pos_ + 2, false);
  if (c == '$') return dollar();
  if (is_digit(c) || (c == '.' && is_digit(peek(1)))) return number();
  if (is_ident_start(c)) return word();
  const std::size_t start = pos_;
  if (c == ';') {
    ++pos_;
    return take(TokenKind::Semicolon, start);
  }
  if ((c == ':' && (at(1, ':') || at(1, '='))) || (c == '.' && at(1, '.'))) {
    pos_ += 2;
    return take(TokenKind::Operator, start);
  }
  if (std::string_view("()[],.:").find(c) != std::string_view::npos) {
    ++pos_;
    return take(TokenKind::Punctuation, start);
  }
  if (is_operator_char(c)) return operator_run();
  ++pos_;
  return take(TokenKind::Unknown, start);
}

Token Lexer::take(TokenKind kind, std::size_t start, bool terminated) {
  return Token{kind, sql_.substr(start, pos_ - start), terminated};
}

Token Lexer::whitespace() {
  const std::size_t start = pos_;
  while (pos_ < sql_.size() && is_space(sql_[pos_])) ++pos_;
  return take(TokenKind::Whitespace, start);
}

Token Lexer::line_comment() {
  const std::size_t start = pos_;
  while (pos_ < sql_.size() && sql_[pos_] != '\n' && sql_[pos_] != '\r') ++pos_;
  return take(TokenKind::Comment, start);
}

Token Lexer::block_comment() {
  const std::size_t start = pos_;
  pos_ += 2;
  // PostgreSQL nests block comments, unlike the SQL standard and C.
  int depth = 1;
  while (pos_ < sql_.size()) {
    if (sql_[pos_] == '/' && at(1, '*')) {
      ++depth;
      pos_ += 2;
    } else if (sql_[pos_] == '*' && at(1, '/')) {
      pos_ += 2;
      if (--depth == 0) return take(TokenKind::Comment, start);
    } else {
      ++pos_;
    }
  }
  return take(TokenKind::Comment, start, false);
}

Token Lexer::quoted(TokenKind kind, std::size_t quote_pos, bool backslash_escapes) {
  const std::size_t start = pos_;
  const char quote = sql_[quote_pos];
  pos_ = quote_pos + 1;
  while (pos_ < sql_.size()) {
    const char c = sql_[pos_];
    if (backslash_escapes && c == '\\') {
      pos_ += 2;  // the escaped byte, whatever it is, cannot close the string
    } else if (c == quote && at(1, quote)) {
      pos_ += 2;  // a doubled quote stands for one quote character
    } else if (c == quote) {
      ++pos_;
      return take(kind, start);
    } else {
      ++pos_;
    }
  }
  pos_ = sql_.size();  // a trailing backslash may have stepped past the end
  return take(kind, start, false);
}

Token Lexer::dollar() {
  const std::size_t start = pos_;
  if (is_digit(peek(1))) {
    ++pos_;
    while (pos_ < sql_.size() && is_digit(sql_[pos_])) ++pos_;
    return take(TokenKind::Parameter, start);
  }
  // $$ or $tag$ opens a dollar-quoted string; the tag cannot start with a digit (that's $1).
  std::size_t tag_end = pos_ + 1;
  if (tag_end < sql_.size() && is_ident_start(sql_[tag_end])) {
    while (tag_end < sql_.size() && is_tag_char(sql_[tag_end])) ++tag_end;
  }
  if (tag_end >= sql_.size() || sql_[tag_end] != '$') {
    ++pos_;
    return take(TokenKind::Unknown, start);
  }
  const std::string_view delimiter = sql_.substr(start, tag_end + 1 - start);
  // Nothing is special inside a dollar quote: the first copy of the delimiter closes it.
  const std::size_t close = sql_.find(delimiter, tag_end + 1);
  if (close == std::string_view::npos) {
    pos_ = sql_.size();
    return take(TokenKind::String, start, false);
  }
  pos_ = close + delimiter.size();
  return take(TokenKind::String, start);
}

Token Lexer::number() {
  const std::size_t start = pos_;
  // Digits in `radix` ('x', 'o', 'b', or 'd' for decimal) with PostgreSQL 16's optional
  // underscores between them ("1_000").
  auto digits = [this, start](char radix) {
    while (pos_ < sql_.size()) {
      const bool separator = sql_[pos_] == '_' && pos_ > start &&
                             is_radix_digit(sql_[pos_ - 1], radix) &&
                             is_radix_digit(peek(1), radix);
      if (!separator && !is_radix_digit(sql_[pos_], radix)) break;
      ++pos_;
    }
  };
  const char radix = to_lower_ascii(peek(1));
  if (sql_[pos_] == '0' && (radix == 'x' || radix == 'o' || radix == 'b') &&
      is_radix_digit(peek(2), radix)) {
    pos_ += 2;
    digits(radix);
    return take(TokenKind::Number, start);
  }
  digits('d');
  // "1..5" is an integer followed by the ".." operator, not a decimal.
  if (at(0, '.') && !at(1, '.')) {
    ++pos_;
    digits('d');
  }
  if (to_lower_ascii(peek(0)) == 'e') {
    const std::size_t sign = (peek(1) == '+' || peek(1) == '-') ? 1 : 0;
    if (is_digit(peek(1 + sign))) {
      pos_ += 1 + sign;
      digits('d');
    }
  }
  return take(TokenKind::Number, start);
}

Token Lexer::word() {
  const std::size_t start = pos_;
  while (pos_ < sql_.size() && is_ident_char(sql_[pos_])) ++pos_;
  return take(TokenKind::Identifier, start);
}

Token Lexer::operator_run() {
  const std::size_t start = pos_;
  std::size_t end = pos_;
  while (end < sql_.size() && is_operator_char(sql_[end])) {
    // A comment start ends the operator even without a space: "a*/*x*/b".
    const char next = end + 1 < sql_.size() ? sql_[end + 1] : '\0';
    if (end > start && ((sql_[end] == '-' && next == '-') || (sql_[end] == '/' && next == '*')))
      break;
    ++end;
  }
  const std::string_view run = sql_.substr(start, end - start);
  // An operator ending in + or - keeps that sign only if it contains one of ~!@#^&|`?%; otherwise
  // "=-1" lexes as "=", "-", "1" (PostgreSQL's rule, which keeps unary minus working).
  if (run.size() > 1 && (run.back() == '+' || run.back() == '-') &&
      run.find_first_of("~!@#^&|`?%") == std::string_view::npos) {
    while (end - start > 1 && (sql_[end - 1] == '+' || sql_[end - 1] == '-')) --end;
  }
  pos_ = end;
  return take(TokenKind::Operator, start);
}

std::vector<Token> tokenize(std::string_view sql) {
  std::vector<Token> tokens;
  Lexer lexer(sql);
  while (auto token = lexer.next()) tokens.push_back(*token);
  return tokens;
}

}  // namespace ouroboros::sql
