// TraceContext parsing and printing; names of the observer enums.
#include "ouroboros/observer.hpp"

#include <algorithm>

#include "ouroboros/errors.hpp"

namespace ouroboros {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not allowed by the W3C format
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int high = hex_digit(text[2 * i]), low = hex_digit(text[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return true;
}

template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  for (std::uint8_t byte : bytes) {
    text += digits[byte >> 4];
    text += digits[byte & 15];
  }
  return text;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

TraceContext TraceContext::parse(std::string_view text) {
  TraceContext context;
  if (text.empty()) return context;
  std::array<std::uint8_t, 1> version{}, flags{};
  const bool ok = text.size() == 55 && text[2] == '-' && text[35] == '-' && text[52] == '-' &&
                  parse_hex(text.substr(0, 2), version) && version[0] == 0 &&
                  parse_hex(text.substr(3, 32), context.trace_id) &&
                  parse_hex(text.substr(36, 16), context.span_id) &&
                  parse_hex(text.substr(53, 2), flags) && context.valid();
  if (!ok)
    throw UsageError("not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>, ids not all zeros): '" +
                     std::string(text) + "'");
  context.flags = flags[0];
  return context;
}

bool TraceContext::valid() const noexcept {
  return !all_zero(trace_id) && !all_zero(span_id);
}

std::string TraceContext::traceparent() const {
  if (!valid()) return "";
  return "00-" + trace_id_hex() + "-" + span_id_hex() + "-" +
         to_hex(std::array<std::uint8_t, 1>{flags});
}

std::string TraceContext::trace_id_hex() const {
  return to_hex(trace_id);
}

std::string TraceContext::span_id_hex() const {
  return to_hex(span_id);
}

std::string_view to_string(StatementKind kind) noexcept {
  switch (kind) {
    case StatementKind::Query:
      return "query";
    case StatementKind::Script:
      return "script";
    case StatementKind::Transaction:
      return "transaction";
    case StatementKind::Copy:
      return "copy";
    case StatementKind::Notify:
      return "notify";
    case StatementKind::Pipelined:
      return "pipelined";
  }
  return "unknown";
}

std::string_view to_string(CacheOutcome outcome) noexcept {
  switch (outcome) {
    case CacheOutcome::NotUsed:
      return "not_used";
    case CacheOutcome::Hit:
      return "hit";
    case CacheOutcome::Prepared:
      return "prepared";
    case CacheOutcome::Reprepared:
      return "reprepared";
    case CacheOutcome::Bypassed:
      return "bypassed";
  }
  return "unknown";
}

std::string_view to_string(TransactionStatus status) noexcept {
  switch (status) {
    case TransactionStatus::Idle:
      return "idle";
    case TransactionStatus::InTransaction:
      return "in_transaction";
    case TransactionStatus::Failed:
      return "failed";
  }
  return "unknown";
}

}  // namespace ouroboros
