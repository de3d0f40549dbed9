// Conversions of scalar values: bool, floating point, bytea and uuid.
#include <strings.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "ouroboros/convert.hpp"

namespace ouroboros {
namespace detail {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

template <class Float>
Float parse_floating(std::string_view text) {
  if (iequals(text, "NaN")) return std::numeric_limits<Float>::quiet_NaN();
  if (iequals(text, "Infinity") || iequals(text, "inf") || iequals(text, "+Infinity"))
    return std::numeric_limits<Float>::infinity();
  if (iequals(text, "-Infinity") || iequals(text, "-inf"))
    return -std::numeric_limits<Float>::infinity();
  Float value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw_conversion("invalid floating-point value", text);
  return value;
}

template <class Float>
void format_floating(Float value, std::string& out) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Infinity" : "Infinity";
  } else {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest exact
    (void)ec;
    out.append(buffer, end);
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

void throw_conversion(std::string_view what, std::string_view text) {
  std::string shown(text.substr(0, 200));
  if (text.size() > 200) shown += "...";
  throw ConversionError(std::string(what) + ": \"" + shown + "\"");
}

double parse_double(std::string_view text) {
  return parse_floating<double>(text);
}
float parse_float(std::string_view text) {
  return parse_floating<float>(text);
}
void format_double(double value, std::string& out) {
  format_floating(value, out);
}
void format_float(float value, std::string& out) {
  format_floating(value, out);
}

}  // namespace detail

bool Conversion<bool>::from_text(std::string_view text) {
  if (text == "t" || detail::iequals(text, "true")) return true;
  if (text == "f" || detail::iequals(text, "false")) return false;
  detail::throw_conversion("invalid boolean", text);
}

Bytes Conversion<Bytes>::from_text(std::string_view text) {
  Bytes bytes;
  if (text.substr(0, 2) == "\\x") {  // hex format (bytea_output = hex, the default)
    if (text.size() % 2 != 0) detail::throw_conversion("invalid bytea hex", text.substr(0, 40));
    bytes.reserve(text.size() / 2 - 1);
    for (std::size_t i = 2; i < text.size(); i += 2) {
      int high = detail::hex_value(text[i]), low = detail::hex_value(text[i + 1]);
      if (high < 0 || low < 0) detail::throw_conversion("invalid bytea hex", text.substr(0, 40));
      bytes.push_back(static_cast<std::byte>(high * 16 + low));
    }
    return bytes;
  }
  // escape format: \\ is a backslash, \ooo an octal byte, anything else is itself.
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      bytes.push_back(static_cast<std::byte>(text[i]));
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      bytes.push_back(std::byte{'\\'});
      ++i;
    } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
               text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
               text[i + 3] <= '7') {
      bytes.push_back(static_cast<std::byte>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                             (text[i + 3] - '0')));
      i += 3;
    } else {
      detail::throw_conversion("invalid bytea escape", text.substr(0, 40));
    }
  }
  return bytes;
}

void Conversion<Bytes>::to_text(const Bytes& value, std::string& out) {
  out.reserve(out.size() + 2 + value.size() * 2);
  out += "\\x";
  for (std::byte b : value) {
    out += detail::kHexDigits[std::to_integer<unsigned>(b) >> 4];
    out += detail::kHexDigits[std::to_integer<unsigned>(b) & 0xf];
  }
}

Uuid Uuid::parse(std::string_view text) {
  std::string_view s = text;
  if (s.size() >= 2 && s.front() == '{' && s.back() == '}') s = s.substr(1, s.size() - 2);
  Uuid uuid;
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '-' && n % 4 == 0 && n > 0 && n < 32) continue;
    int v = detail::hex_value(s[i]);
    if (v < 0 || n >= 32) detail::throw_conversion("invalid uuid", text);
    uuid.bytes[n / 2] = static_cast<std::uint8_t>(n % 2 == 0 ? v << 4 : uuid.bytes[n / 2] | v);
    ++n;
  }
  if (n != 32) detail::throw_conversion("invalid uuid", text);
  return uuid;
}

std::string Uuid::to_string() const {
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += detail::kHexDigits[bytes[i] >> 4];
    out += detail::kHexDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace ouroboros
