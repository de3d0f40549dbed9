#include "io/http_request.h"

namespace ouroboros::io {

namespace {

constexpr std::size_t npos = std::string_view::npos;

// RFC 9110 tchar: the characters of a method or a header name.
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != npos;
}
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

// Splits off the next line (without its CRLF or LF) from `rest`.
std::string_view next_line(std::string_view& rest) {
  std::size_t lf = rest.find('\n');
  std::string_view line = rest.substr(0, lf);
  rest.remove_prefix(lf == npos ? rest.size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

bool is_http_control(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

std::size_t find_head_end(std::string_view data, std::size_t from) {
  for (std::size_t i = data.find('\n', from); i != npos; i = data.find('\n', i + 1)) {
    if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  return npos;
}

int parse_head(std::string_view head, HttpRequest& request) {
  std::string_view line = next_line(head);
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = sp1 == npos ? npos : line.find(' ', sp1 + 1);
  if (sp2 == npos || line.find(' ', sp2 + 1) != npos) return 400;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty()) return 400;
  for (char c : target)
    if (is_http_control(c) || static_cast<unsigned char>(c) >= 0x80) return 400;
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return 400;
  for (line = next_line(head); !line.empty(); line = next_line(head)) {
    std::size_t colon = line.find(':');
    if (colon == npos || !is_token(line.substr(0, colon))) return 400;  // also obs-fold
    for (char c : line.substr(colon + 1))
      if (is_http_control(c) && c != '\t') return 400;
  }
  if (version[5] != '1') return 505;
  if (method != "GET" && method != "HEAD") return 405;
  if (target.front() != '/') return 400;  // only origin-form ("/path?query")
  std::size_t question = target.find('?');
  request.method = method;
  request.path = target.substr(0, question);
  request.query = question == npos ? std::string_view() : target.substr(question + 1);
  return 0;
}

}  // namespace ouroboros::io
