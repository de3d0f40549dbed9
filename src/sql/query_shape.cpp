#include "sql/query_shape.h"

#include <array>
#include <bit>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sql/lexer.h"
#include "sql/statement_splitter.h"
#include "sql/token.h"

namespace ouroboros::sql {
namespace {

constexpr std::uint64_t kOffset = 1469598103934665603ull;
constexpr std::uint64_t kPrime = 0x9E3779B97F4A7C15ull;

// The classes below must agree with sql/lexer.cpp for every text the quick pass accepts (the
// sql fuzz target checks that its tokens are the lexer's).
constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
constexpr auto kWordChar = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = is_letter(static_cast<char>(c)) || is_digit(static_cast<char>(c));
  return table;
}();
constexpr bool is_operator_char(char c) {
  switch (c) {
    case '~': case '!': case '@': case '#': case '^': case '&': case '|': case '`': case '?':
    case '+': case '-': case '*': case '/': case '%': case '<': case '>': case '=':
      return true;
    default:
      return false;
  }
}

// The first `count` (1..7) bytes in memory order of an 8-byte load, the rest zero: what copying
// only those bytes into a zeroed word gives.
std::uint64_t first_bytes_of_load(std::uint64_t loaded, std::size_t count) {
  if constexpr (std::endian::native == std::endian::little) {
    return loaded & ((std::uint64_t{1} << (count * 8)) - 1);
  } else {
    return loaded & ~((std::uint64_t{1} << ((8 - count) * 8)) - 1);
  }
}

// Token by token: a token's kind (with its text's length, when its text counts), then that text
// 8 bytes at a time. Bare words are folded to lower case with "| 0x20" per byte: within
// [A-Za-z0-9_] that maps A-Z onto a-z and keeps every other byte distinct.
class Hash {
 public:
  // A token whose text does not count (literals, parameters, ';').
  void kind(TokenKind k) { mix(0xE0u | static_cast<unsigned>(k)); }
  // `readable_end`: where the memory `s` lies in ends (the whole text's end), so the last piece
  // can be loaded 8 bytes at once and masked instead of copied byte by byte; same value.
  void token(TokenKind kind, std::string_view s, bool fold_case, const char* readable_end = nullptr) {
    mix((0xE0u | static_cast<unsigned>(kind)) | (static_cast<std::uint64_t>(s.size()) << 8));
    const std::uint64_t fold = fold_case ? 0x2020202020202020ull : 0;
    std::size_t k = 0;
    for (; k + 8 <= s.size(); k += 8) {
      std::uint64_t v;
      std::memcpy(&v, s.data() + k, 8);
      mix(v | fold);
    }
    if (k < s.size()) {
      const std::size_t left = s.size() - k;  // 1..7 bytes
      std::uint64_t v = 0;
      if (readable_end != nullptr && readable_end - (s.data() + k) >= 8) {
        std::memcpy(&v, s.data() + k, 8);
        v = first_bytes_of_load(v, left);
      } else {
        std::memcpy(&v, s.data() + k, left);
      }
      mix(v | fold);
    }
  }
  std::uint64_t value() const { return h_ ^ (h_ >> 29); }

 private:
  void mix(std::uint64_t v) {
    h_ = (h_ ^ v) * kPrime;
    h_ ^= h_ >> 32;
  }
  std::uint64_t h_ = kOffset;
};

// Where the word that continues at `i` ends: the first byte at or after `i` that is not in
// [A-Za-z0-9_] (or `n`). Sixteen bytes a step where the text has them (most of a statement's
// bytes are in words), then four, then one.
std::size_t word_end(std::string_view sql, std::size_t i) {
  const std::size_t n = sql.size();
#if defined(__SSE2__)
  // Signed byte compares: bytes from 0x80 up are negative, so never a letter or digit.
  const __m128i to_lower = _mm_set1_epi8(0x20);
  const __m128i before_a = _mm_set1_epi8('a' - 1), after_z = _mm_set1_epi8('z' + 1);
  const __m128i before_0 = _mm_set1_epi8('0' - 1), after_9 = _mm_set1_epi8('9' + 1);
  const __m128i underscore = _mm_set1_epi8('_');
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sql.data() + i));
    const __m128i lower = _mm_or_si128(v, to_lower);  // A-Z onto a-z; no other byte lands there
    const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, before_a), _mm_cmplt_epi8(lower, after_z));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, before_0), _mm_cmplt_epi8(v, after_9));
    const __m128i word = _mm_or_si128(_mm_or_si128(letter, digit), _mm_cmpeq_epi8(v, underscore));
    const unsigned others = ~static_cast<unsigned>(_mm_movemask_epi8(word)) & 0xFFFFu;
    if (others != 0) return i + static_cast<std::size_t>(std::countr_zero(others));
    i += 16;
  }
#endif
  auto word_char = [&](std::size_t k) { return kWordChar[static_cast<unsigned char>(sql[k])]; };
  while (i + 4 <= n && (word_char(i) & word_char(i + 1) & word_char(i + 2) & word_char(i + 3))) i += 4;
  while (i < n && word_char(i)) ++i;
  return i;
}

// What a text's byte starts, for the quick pass's dispatch: one table lookup instead of a chain
// of comparisons per byte.
enum class Start : std::uint8_t { Other, Space, Letter, Digit, Quote, DoubleQuote, Dollar, Semicolon, Colon, Punctuation, Dot, Operator };
constexpr auto kStart = [] {
  std::array<Start, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    Start s = Start::Other;
    if (is_space(ch)) s = Start::Space;
    else if (is_letter(ch)) s = Start::Letter;
    else if (is_digit(ch)) s = Start::Digit;
    else if (ch == '\'') s = Start::Quote;
    else if (ch == '"') s = Start::DoubleQuote;
    else if (ch == '$') s = Start::Dollar;
    else if (ch == ';') s = Start::Semicolon;
    else if (ch == ':') s = Start::Colon;
    else if (ch == '(' || ch == ')' || ch == '[' || ch == ']' || ch == ',') s = Start::Punctuation;
    else if (ch == '.') s = Start::Dot;
    else if (is_operator_char(ch)) s = Start::Operator;
    table[c] = s;
  }
  return table;
}();

}  // namespace

std::uint64_t whole_text_key(std::string_view text) {
  Hash whole;
  whole.token(TokenKind::Unknown, text, false);  // the whole text as one token
  return whole.value();
}

QueryShape query_shape(std::string_view sql) {
  Hash hash;
  std::size_t i = 0;
  const std::size_t n = sql.size();
  const char* const end = sql.data() + n;
  int statements = 0;
  bool in_statement = false;  // a significant token since the last ';'
  bool more = false;          // something significant after the first statement's ';'
  auto fallback = [&] { return QueryShape{false, whole_text_key(sql), -1}; };
  auto significant = [&] {  // a token that is not ';': a statement starts or goes on
    if (!in_statement) {
      if (statements > 0) more = true;
      in_statement = true;
      ++statements;
    }
  };
  auto word_char = [&](std::size_t k) { return kWordChar[static_cast<unsigned char>(sql[k])]; };
  while (i < n) {
    const char c = sql[i];
    switch (kStart[static_cast<unsigned char>(c)]) {
      case Start::Space:
        ++i;
        continue;
      case Start::Letter: {
        const std::size_t start = i;
        i = word_end(sql, i + 1);
        if (i < n) {
          const char next = sql[i];
          if (next == '$' || static_cast<unsigned char>(next) >= 0x80) return fallback();
          // E'..', B'..', X'..', N'..' and U&'..' are strings with a prefix: the lexer's business.
          if (i - start == 1 && (next == '\'' || next == '&')) return fallback();
        }
        significant();
        hash.token(TokenKind::Identifier, sql.substr(start, i - start), true, end);
        continue;
      }
      case Start::Digit: {
        ++i;
        while (i < n && is_digit(sql[i])) ++i;
        // Decimals, exponents, radix prefixes and 1_000 are the lexer's business.
        if (i < n && (word_char(i) || sql[i] == '.' || sql[i] == '$' || static_cast<unsigned char>(sql[i]) >= 0x80))
          return fallback();
        significant();
        hash.kind(TokenKind::Number);  // a literal: its digits are not part of the shape
        continue;
      }
      case Start::Quote: {
        ++i;
        for (;;) {
          if (i >= n) return fallback();  // unterminated
          if (sql[i] == '\'') {
            if (i + 1 < n && sql[i + 1] == '\'') {
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          ++i;
        }
        significant();
        hash.kind(TokenKind::String);
        continue;
      }
      case Start::DoubleQuote: {
        std::size_t start = i++;
        for (;;) {
          if (i >= n) return fallback();
          if (sql[i] == '"') {
            if (i + 1 < n && sql[i + 1] == '"') {
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          ++i;
        }
        significant();
        hash.token(TokenKind::QuotedIdentifier, sql.substr(start, i - start), false, end);
        continue;
      }
      case Start::Dollar: {
        std::size_t start = ++i;
        while (i < n && is_digit(sql[i])) ++i;
        if (i == start) return fallback();  // a dollar quote
        significant();
        hash.kind(TokenKind::Parameter);
        continue;
      }
      case Start::Semicolon:
        ++i;
        in_statement = false;
        hash.kind(TokenKind::Semicolon);
        continue;
      case Start::Colon:
        if (i + 1 < n && (sql[i + 1] == ':' || sql[i + 1] == '=')) {
          significant();
          hash.token(TokenKind::Operator, sql.substr(i, 2), false, end);
          i += 2;
          continue;
        }
        significant();
        hash.token(TokenKind::Punctuation, sql.substr(i, 1), false, end);
        ++i;
        continue;
      case Start::Punctuation:
        significant();
        hash.token(TokenKind::Punctuation, sql.substr(i, 1), false, end);
        ++i;
        continue;
      case Start::Dot:
        if (i + 1 < n && (sql[i + 1] == '.' || is_digit(sql[i + 1]))) return fallback();
        significant();
        hash.token(TokenKind::Punctuation, sql.substr(i, 1), false, end);
        ++i;
        continue;
      case Start::Operator:
        // One operator character standing alone; runs (and comments) are the lexer's business.
        if (i + 1 < n && kStart[static_cast<unsigned char>(sql[i + 1])] == Start::Operator) return fallback();
        significant();
        hash.token(TokenKind::Operator, sql.substr(i, 1), false, end);
        ++i;
        continue;
      case Start::Other:
        return fallback();
    }
  }
  return QueryShape{true, hash.value(), more ? -1 : statements};
}

std::uint64_t query_shape_by_lexer(std::string_view sql) {
  Hash hash;
  Lexer lexer(sql);
  while (auto t = lexer.next()) {
    if (!is_significant(*t)) continue;
    switch (t->kind) {
      case TokenKind::Identifier:
        hash.token(t->kind, t->text, true);
        break;
      case TokenKind::QuotedIdentifier:
      case TokenKind::Operator:
      case TokenKind::Punctuation:
      case TokenKind::Unknown:
        hash.token(t->kind, t->text, false);
        break;
      default:
        hash.kind(t->kind);  // literals, parameters and ';' count by their kind alone
        break;
    }
  }
  return hash.value();
}

std::size_t count_statements_quickly(std::string_view sql, const QueryShape& shape) {
  if (shape.scanned && shape.statements >= 0) return static_cast<std::size_t>(shape.statements);
  return count_statements(sql);
}

}  // namespace ouroboros::sql
