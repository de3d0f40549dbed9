#include "sql/trace_context.h"

#include <algorithm>
#include <utility>

#include "sql/lexer.h"

namespace ouroboros::sql {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// W3C trace context allows only lowercase hex.
bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

// Percent-decoding; nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int high = hex_value(s[i + 1]);
    const int low = hex_value(s[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// The text inside a comment token's delimiters.
std::string_view comment_body(const Token& comment) {
  std::string_view body = comment.text.substr(2);  // "--" or "/*"
  if (comment.text.starts_with("/*") && comment.terminated) body.remove_suffix(2);
  return body;
}

// Reads sqlcommenter pairs key='value',key='value' from a comment body and returns the parsed
// traceparent if one is present and valid.
std::optional<TraceContext> traceparent_in(std::string_view body) {
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t equals = body.find('=', pos);
    if (equals == std::string_view::npos) return std::nullopt;
    // A key runs back from '=' to the previous comma (or the start).
    const std::size_t comma = body.rfind(',', equals);
    const std::size_t key_start =
        (comma == std::string_view::npos || comma < pos) ? pos : comma + 1;
    const std::string_view raw_key = trim(body.substr(key_start, equals - key_start));
    std::size_t value_start = equals + 1;
    while (value_start < body.size() && body[value_start] == ' ') ++value_start;
    std::string_view raw_value;
    if (value_start < body.size() && body[value_start] == '\'') {
      // Quoted value; sqlcommenter escapes a quote inside as \'.
      std::size_t end = value_start + 1;
      while (end < body.size() && body[end] != '\'')
        end += body[end] == '\\' ? std::size_t{2} : std::size_t{1};
      end = std::min(end, body.size());
      raw_value = body.substr(value_start + 1, end - value_start - 1);
      pos = end + 1;
    } else {
      const std::size_t end = std::min(body.find(',', value_start), body.size());
      raw_value = trim(body.substr(value_start, end - value_start));
      pos = end;
    }
    const auto key = url_decode(raw_key);
    if (key && equals_ignore_case(*key, "traceparent")) {
      const auto value = url_decode(raw_value);
      return value ? parse_traceparent(*value) : std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view v) {
  // vv-<32 hex>-<16 hex>-ff
  constexpr std::size_t length = 55;
  if (v.size() < length || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  const std::string_view version = v.substr(0, 2);
  const std::string_view trace_id = v.substr(3, 32);
  const std::string_view parent_id = v.substr(36, 16);
  const std::string_view flags = v.substr(53, 2);
  if (!is_lower_hex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? v.size() != length : (v.size() > length && v[length] != '-'))
    return std::nullopt;
  if (!is_lower_hex(trace_id) || all_zero(trace_id)) return std::nullopt;
  if (!is_lower_hex(parent_id) || all_zero(parent_id)) return std::nullopt;
  if (!is_lower_hex(flags)) return std::nullopt;
  return TraceContext{std::string(trace_id), std::string(parent_id),
                      static_cast<std::uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]))};
}

std::optional<TraceContext> trace_context(std::string_view sql) {
  Lexer lexer(sql);
  while (auto token = lexer.next()) {
    if (token->kind != TokenKind::Comment) continue;
    const std::string_view body = comment_body(*token);
    if (!contains_ignore_case(body, "traceparent")) continue;
    if (auto context = traceparent_in(body)) return context;
  }
  return std::nullopt;
}

std::optional<std::string> trace_id(std::string_view sql) {
  auto context = trace_context(sql);
  if (!context) return std::nullopt;
  return std::move(context->trace_id);
}

}  // namespace ouroboros::sql
