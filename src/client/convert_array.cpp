// One-dimensional array literals: splitting the server's output and quoting parameter elements.
#include <cctype>

#include "ouroboros/convert.hpp"

namespace ouroboros::detail {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool iequals_null(std::string_view s) {
  return s.size() == 4 && std::toupper(static_cast<unsigned char>(s[0])) == 'N' &&
         std::toupper(static_cast<unsigned char>(s[1])) == 'U' &&
         std::toupper(static_cast<unsigned char>(s[2])) == 'L' &&
         std::toupper(static_cast<unsigned char>(s[3])) == 'L';
}

}  // namespace

std::vector<std::optional<std::string>> parse_array(std::string_view text) {
  std::string_view s = text;
  // Arrays whose lower bound is not 1 carry their dimensions first: [0:2]={a,b,c}.
  if (!s.empty() && s.front() == '[') {
    auto eq = s.find('=');
    if (eq == std::string_view::npos) throw_conversion("invalid array", text);
    s.remove_prefix(eq + 1);
  }
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') throw_conversion("invalid array", text);
  s = s.substr(1, s.size() - 2);
  std::vector<std::optional<std::string>> elements;
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  if (i == s.size()) return elements;
  while (true) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i < s.size() && s[i] == '{')
      throw_conversion("multi-dimensional arrays are not supported", text);
    if (i < s.size() && s[i] == '"') {
      std::string element;
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        element += s[i++];
      }
      if (i >= s.size()) throw_conversion("unterminated quoted array element", text);
      ++i;  // closing quote
      while (i < s.size() && is_space(s[i])) ++i;
      elements.emplace_back(std::move(element));
    } else {
      std::size_t start = i;
      std::string element;
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        element += s[i++];
      }
      while (!element.empty() && is_space(element.back())) element.pop_back();
      if (i == start) throw_conversion("empty array element", text);
      if (iequals_null(element))
        elements.emplace_back(std::nullopt);
      else
        elements.emplace_back(std::move(element));
    }
    if (i == s.size()) break;
    if (s[i] != ',') throw_conversion("invalid array", text);
    ++i;
  }
  return elements;
}

void append_array_element(std::string_view element_text, std::string& out) {
  out += '"';
  for (char c : element_text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace ouroboros::detail
