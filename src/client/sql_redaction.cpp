// redact_sql: literals out of SQL text before it is logged.
#include <cctype>
#include <string>
#include <string_view>

#include "ouroboros/query_logger.hpp"

namespace ouroboros {
namespace {

bool identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool same_word(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(word[i])) != keyword[i]) return false;
  return true;
}

// The end of a quoted string starting at `at` (the opening quote); backslash escapes when
// `escapes`. An unterminated string runs to the end.
std::size_t end_of_string(std::string_view sql, std::size_t at, bool escapes) {
  for (std::size_t i = at + 1; i < sql.size(); ++i) {
    if (escapes && sql[i] == '\\') {
      ++i;
    } else if (sql[i] == '\'') {
      if (i + 1 < sql.size() && sql[i + 1] == '\'') {
        ++i;  // '' inside the string
      } else {
        return i + 1;
      }
    }
  }
  return sql.size();
}

// At a '$': the length of a dollar-quote tag ($$ or $tag$), or 0 when this is not one.
std::size_t dollar_tag_length(std::string_view sql, std::size_t at) {
  std::size_t i = at + 1;
  if (i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i]))) return 0;  // $1
  while (i < sql.size() && sql[i] != '$') {
    if (!identifier_char(sql[i]) || sql[i] == '$') return 0;
    ++i;
  }
  return i < sql.size() ? i - at + 1 : 0;
}

}  // namespace

std::string redact_sql(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {  // line comment: kept
      const std::size_t end = sql.find('\n', i);
      const std::size_t stop = end == std::string_view::npos ? sql.size() : end;
      out.append(sql.substr(i, stop - i));
      i = stop;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {  // block comment: kept
      int depth = 0;
      std::size_t j = i;
      while (j < sql.size()) {
        if (sql.compare(j, 2, "/*") == 0) {
          ++depth;
          j += 2;
        } else if (sql.compare(j, 2, "*/") == 0) {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '"') {  // quoted identifier: kept
      std::size_t j = i + 1;
      while (j < sql.size()) {
        if (sql[j] == '"' && j + 1 < sql.size() && sql[j + 1] == '"') {
          j += 2;
        } else if (sql[j] == '"') {
          ++j;
          break;
        } else {
          ++j;
        }
      }
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (c == '\'') {
      out += '?';
      i = end_of_string(sql, i, false);
    } else if (c == '$') {
      if (const std::size_t tag = dollar_tag_length(sql, i); tag > 0) {
        const std::size_t close = sql.find(sql.substr(i, tag), i + tag);
        out += '?';
        i = close == std::string_view::npos ? sql.size() : close + tag;
      } else {  // $n parameter
        std::size_t j = i + 1;
        while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
        out.append(sql.substr(i, j - i));
        i = j;
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < sql.size() &&
                std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
      std::size_t j = i;
      while (j < sql.size() &&
             (std::isalnum(static_cast<unsigned char>(sql[j])) || sql[j] == '.' || sql[j] == '_' ||
              ((sql[j] == '+' || sql[j] == '-') && (sql[j - 1] == 'e' || sql[j - 1] == 'E'))))
        ++j;
      out += '?';
      i = j;
    } else if (identifier_char(c)) {
      std::size_t j = i;
      while (j < sql.size() && identifier_char(sql[j])) ++j;
      const std::string_view word = sql.substr(i, j - i);
      // A string with a prefix: E'...', B'...', X'...', N'...', U&'...'.
      const bool prefix = same_word(word, "E") || same_word(word, "B") || same_word(word, "X") ||
                          same_word(word, "N");
      if (prefix && j < sql.size() && sql[j] == '\'') {
        out += '?';
        i = end_of_string(sql, j, same_word(word, "E"));
      } else if (same_word(word, "U") && sql.compare(j, 2, "&'") == 0) {
        out += '?';
        i = end_of_string(sql, j + 1, false);
      } else if (same_word(word, "TRUE") || same_word(word, "FALSE")) {
        out += '?';
        i = j;
      } else {
        out.append(word);
        i = j;
      }
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace ouroboros
