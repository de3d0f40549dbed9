#include "sql/error_redact.h"

#include <algorithm>
#include <array>

#include "sql/ascii.h"

namespace ouroboros::sql {
namespace {

// Words after which PostgreSQL quotes an object's name rather than a value.
constexpr std::array<std::string_view, 41> kObjectWords = {
    "aggregate",   "attribute",  "cast",       "channel",      "class",     "collation",
    "column",      "constraint", "conversion", "cursor",       "database",  "domain",
    "encoding",    "extension",  "family",     "function",     "index",     "language",
    "mapping",     "operator",   "parameter",  "policy",       "portal",    "procedure",
    "publication", "relation",   "role",       "rule",         "savepoint", "schema",
    "sequence",    "server",     "statement",  "subscription", "table",     "tablespace",
    "trigger",     "type",       "user",       "view",         "wrapper"};

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Whether the word that ends just before `pos` (spaces skipped) names a kind of object.
bool object_name_follows(std::string_view text, std::size_t pos) {
  std::size_t end = pos;
  while (end > 0 && text[end - 1] == ' ') --end;
  std::size_t start = end;
  while (start > 0 && is_word_char(text[start - 1])) --start;
  std::string_view word = text.substr(start, end - start);
  return std::any_of(kObjectWords.begin(), kObjectWords.end(),
                     [&](std::string_view w) { return equals_ignore_case(word, w); });
}

// "Key (a, b)=(1, x)" and "Failing row contains (1, x)": the values, up to the last ')'.
std::string hide_rows(std::string_view text) {
  std::size_t open = std::string_view::npos;
  for (std::string_view marker :
       {std::string_view(")=("), std::string_view("Failing row contains (")}) {
    std::size_t at = text.find(marker);
    if (at != std::string_view::npos) open = std::min(open, at + marker.size());
  }
  if (open == std::string_view::npos) return std::string(text);
  std::string out(text.substr(0, open));
  out += '?';
  std::size_t close = text.rfind(')');
  if (close != std::string_view::npos && close >= open)
    out += text.substr(close);
  else
    out += ')';
  return out;
}

}  // namespace

std::string redact_error_text(std::string_view original) {
  const std::string rows = hide_rows(original);
  const std::string_view text = rows;
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t quote = text.find('"', pos);
    if (quote == std::string_view::npos) break;
    out.append(text.substr(pos, quote - pos));
    if (object_name_follows(text, quote)) {
      std::size_t close = text.find('"', quote + 1);
      std::size_t end = close == std::string_view::npos ? text.size() : close + 1;
      out.append(text.substr(quote, end - quote));
      pos = end;
      continue;
    }
    out += "\"?\"";
    std::size_t close = text.rfind('"');
    pos = close > quote ? close + 1 : text.size();
  }
  if (pos < text.size()) out.append(text.substr(pos));
  return out;
}

}  // namespace ouroboros::sql
