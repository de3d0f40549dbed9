#pragma once
// W3C trace context carried in SQL comments the sqlcommenter way:
//   SELECT 1
//   /*action='list',traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/
// Keys and values are URL-encoded (so '-' may arrive as %2D), values single-quoted, pairs
// separated by commas. Only comments count: a traceparent inside a string literal is data.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ouroboros::sql {

struct TraceContext {
  std::string trace_id;   // 32 lowercase hex digits, not all zero
  std::string parent_id;  // 16 lowercase hex digits, not all zero (the caller's span)
  std::uint8_t flags = 0;

  bool sampled() const { return (flags & 0x01) != 0; }
  bool operator==(const TraceContext&) const = default;
};

// Validates one traceparent value ("00-<trace-id>-<parent-id>-<flags>"); version ff is invalid,
// version 00 has nothing after the flags, later versions may append "-..." fields.
std::optional<TraceContext> parse_traceparent(std::string_view value);

// The first well-formed traceparent found in the comments of `sql`.
std::optional<TraceContext> trace_context(std::string_view sql);

// Just its trace id.
std::optional<std::string> trace_id(std::string_view sql);

}  // namespace ouroboros::sql
