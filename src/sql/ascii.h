#pragma once
// ASCII-only case folding, as PostgreSQL folds unquoted identifiers in UTF-8 databases: bytes
// outside A-Z (including every byte of a multibyte character) are left alone.
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace ouroboros::sql {

constexpr char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

inline bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return to_lower_ascii(x) == to_lower_ascii(y);
         });
}

// Whether `needle` (given in lower case) occurs in `haystack` in any case.
inline bool contains_ignore_case(std::string_view haystack, std::string_view lower_needle) {
  const auto it =
      std::search(haystack.begin(), haystack.end(), lower_needle.begin(), lower_needle.end(),
                  [](char h, char n) { return to_lower_ascii(h) == n; });
  return it != haystack.end() || lower_needle.empty();
}

inline void append_lower(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(to_lower_ascii(c));
}

// The text's first word when, after blanks, it starts with ASCII letters that end where an
// identifier ends: "SELECT" of "SELECT 1", of "select(1)". Empty when it starts any other way (a
// comment, a quote, a digit, a parenthesis, or a word going on with '_', '$', digits or non-ASCII
// bytes), which only the lexer reads right. For quick looks on the per-query path.
inline std::string_view plain_first_word(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t\r\n\f");
  if (start == std::string_view::npos) return {};
  std::size_t end = start;
  while (end < text.size() && ((text[end] | 0x20) >= 'a' && (text[end] | 0x20) <= 'z')) ++end;
  if (end < text.size()) {
    const unsigned char next = static_cast<unsigned char>(text[end]);
    if (next == '_' || next == '$' || (next >= '0' && next <= '9') || next >= 0x80) return {};
  }
  return text.substr(start, end - start);
}

}  // namespace ouroboros::sql
