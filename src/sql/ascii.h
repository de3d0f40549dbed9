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

}  // namespace ouroboros::sql
