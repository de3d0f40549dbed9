#pragma once
// Test helpers for spelling wire bytes by hand: wire({'Z', 0, 0, 0, 5, 'I'}) or with string
// pieces, wire({'Q', 0, 0, 0, 13, "SELECT 1", 0}) (string pieces add no terminator).
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "protocol/messages.h"

namespace ouroboros::test {

struct WirePiece {
  WirePiece(int byte) : text(1, static_cast<char>(byte)) {}
  WirePiece(const char* s) : text(s) {}
  std::string text;
};

inline Bytes wire(std::initializer_list<WirePiece> pieces) {
  Bytes out;
  for (const WirePiece& piece : pieces) append(out, as_bytes(piece.text));
  return out;
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& part : parts) append(out, part);
  return out;
}

// ErrorSpec without designated initializers: g++ 12 warns (-Wmissing-field-initializers) when
// some are left out, even though the struct has defaults.
inline protocol::ErrorSpec error_spec(std::string_view severity, std::string_view sqlstate,
                                      std::string_view message, std::string_view detail = {},
                                      std::string_view hint = {}) {
  protocol::ErrorSpec spec;
  spec.severity = severity;
  spec.sqlstate = sqlstate;
  spec.message = message;
  spec.detail = detail;
  spec.hint = hint;
  return spec;
}

inline Bytes to_bytes(ByteView view) {
  return Bytes(view.begin(), view.end());
}
inline std::string to_string(ByteView view) {
  return std::string(as_chars(view));
}

}  // namespace ouroboros::test
