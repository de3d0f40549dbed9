#include "sql/fingerprint.h"

#include <array>
#include <cstddef>
#include <vector>

#include "sql/lexer.h"

namespace ouroboros::sql {
namespace {

// One unit of the fingerprint before spacing is decided.
struct Piece {
  enum class Kind { Placeholder, Word, QuotedIdentifier, Symbol };
  Kind kind;
  std::string_view text;  // empty for placeholders; words are lower-cased when written

  bool is(std::string_view symbol) const { return kind == Kind::Symbol && text == symbol; }
  bool is_placeholder() const { return kind == Kind::Placeholder; }
};

// Words after which "(" opens a list or subquery rather than a call, so it gets a space:
// "in (?)", "values (?)", but "count(*)".
bool is_spaced_keyword(std::string_view word) {
  static constexpr std::array<std::string_view, 33> keywords = {
      "all",    "and",   "any",    "as",   "between",   "by",     "distinct", "else",    "except",
      "exists", "from",  "ilike",  "in",   "intersect", "into",   "join",     "lateral", "like",
      "not",    "on",    "or",     "over", "returning", "select", "set",      "some",    "then",
      "union",  "using", "values", "when", "where",     "with"};
  for (std::string_view keyword : keywords) {
    if (equals_ignore_case(word, keyword)) return true;
  }
  return false;
}

// Does a sign in front of a number make the number negative (rather than being a binary minus)?
// Yes at the start, after an operator, an opening bracket or a comma, and after a keyword such as
// SELECT or AND; no after a value: an identifier, a literal, ")" or "]".
bool sign_is_unary_after(const std::vector<Piece>& out) {
  if (out.empty()) return true;
  const Piece& previous = out.back();
  if (previous.kind == Piece::Kind::Word) return is_spaced_keyword(previous.text);
  return previous.kind == Piece::Kind::Symbol && !previous.is(")") && !previous.is("]");
}

// If `out` ends with open, ?, ..., close (only placeholders and commas), shrinks it to
// open, ?, close.
void collapse_placeholder_list(std::vector<Piece>& out, std::string_view open) {
  const Piece close = out.back();
  std::size_t i = out.size() - 1;  // walks back over ", ?" pairs from the closing bracket
  while (i >= 2 && out[i - 1].is_placeholder()) {
    if (out[i - 2].is(open)) {
      out.resize(i);  // keeps everything up to the first placeholder
      out.push_back(close);
      return;
    }
    if (!out[i - 2].is(",")) return;
    i -= 2;
  }
}

// Multi-row VALUES lists and row lists: "(?), (?), (?)" after VALUES or "(" becomes "(?)".
void collapse_row_run(std::vector<Piece>& out) {
  const std::size_t n = out.size();
  if (n < 8) return;
  const bool two_rows = out[n - 7].is("(") && out[n - 6].is_placeholder() && out[n - 5].is(")") &&
                        out[n - 4].is(",") && out[n - 3].is("(") && out[n - 2].is_placeholder() &&
                        out[n - 1].is(")");
  if (!two_rows) return;
  const Piece& before = out[n - 8];
  const bool list_context = before.is("(") || (before.kind == Piece::Kind::Word &&
                                               equals_ignore_case(before.text, "values"));
  if (list_context) out.resize(n - 4);
}

bool space_between(const Piece& a, const Piece& b) {
  if (a.is("(") || a.is("[") || a.is(".") || a.is("::")) return false;
  if (b.is(")") || b.is("]") || b.is(",") || b.is(".") || b.is("::") || b.is(";")) return false;
  if (b.is("["))
    return a.kind != Piece::Kind::Word && a.kind != Piece::Kind::QuotedIdentifier && !a.is("]") &&
           !a.is(")");
  if (b.is("(")) {
    if (a.kind == Piece::Kind::QuotedIdentifier) return false;
    if (a.kind == Piece::Kind::Word) return is_spaced_keyword(a.text);
  }
  return true;
}

}  // namespace

std::string fingerprint(std::string_view sql) {
  std::vector<Token> tokens;
  for (const Token& t : tokenize(sql)) {
    if (is_significant(t)) tokens.push_back(t);
  }
  std::vector<Piece> out;
  out.reserve(tokens.size());
  bool pending_semicolon = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.kind == TokenKind::Semicolon) {
      pending_semicolon = !out.empty();
      continue;
    }
    if (pending_semicolon) {
      out.push_back(Piece{Piece::Kind::Symbol, ";"});
      pending_semicolon = false;
    }
    const bool signed_number = (is_symbol(t, "-") || is_symbol(t, "+")) && i + 1 < tokens.size() &&
                               tokens[i + 1].kind == TokenKind::Number && sign_is_unary_after(out);
    if (signed_number) {
      ++i;  // the sign and the number are one literal
      out.push_back(Piece{Piece::Kind::Placeholder, {}});
    } else if (is_literal(t) || t.kind == TokenKind::Parameter) {
      out.push_back(Piece{Piece::Kind::Placeholder, {}});
    } else if (t.kind == TokenKind::Identifier) {
      out.push_back(Piece{Piece::Kind::Word, t.text});
    } else if (t.kind == TokenKind::QuotedIdentifier) {
      out.push_back(Piece{Piece::Kind::QuotedIdentifier, t.text});
    } else {
      out.push_back(Piece{Piece::Kind::Symbol, t.text});
    }
    if (out.back().is(")")) {
      collapse_placeholder_list(out, "(");
      collapse_row_run(out);
    } else if (out.back().is("]")) {
      collapse_placeholder_list(out, "[");
    }
  }

  std::string result;
  result.reserve(sql.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0 && space_between(out[i - 1], out[i])) result.push_back(' ');
    if (out[i].kind == Piece::Kind::Placeholder) {
      result.push_back('?');
    } else if (out[i].kind == Piece::Kind::Word) {
      append_lower(result, out[i].text);
    } else {
      result.append(out[i].text);
    }
  }
  return result;
}

}  // namespace ouroboros::sql
