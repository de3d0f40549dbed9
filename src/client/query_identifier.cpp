// Identifier validation and quoting for the query builder.
#include <cstdint>

#include "ouroboros/errors.hpp"
#include "ouroboros/query/identifier.hpp"

namespace ouroboros::query {
namespace {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<std::uint8_t>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xE0) == 0xC0) {
      length = 2;
      code = byte & 0x1F;
    } else if ((byte & 0xF0) == 0xE0) {
      length = 3;
      code = byte & 0x0F;
    } else if ((byte & 0xF8) == 0xF0) {
      length = 4;
      code = byte & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<std::uint8_t>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    const std::uint32_t minimum = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

}  // namespace

void check_identifier(std::string_view what, std::string_view name) {
  const std::string kind(what);
  if (name.empty()) throw UsageError("query builder: the " + kind + " name is empty");
  if (name.find('\0') != std::string_view::npos)
    throw UsageError("query builder: the " + kind + " name contains a NUL byte");
  if (!valid_utf8(name))
    throw UsageError("query builder: the " + kind + " name is not valid UTF-8");
  if (name.size() > kMaxIdentifierBytes)
    throw UsageError("query builder: the " + kind + " name \"" + std::string(name) +
                     "\" is longer than 63 bytes (PostgreSQL would truncate it)");
}

std::string quote_identifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string escape_like(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '%' || c == '_') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace ouroboros::query
