#pragma once
// Byte containers used across modules: owned bytes and read-only views.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ouroboros {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline void append(Bytes& out, ByteView in) { out.insert(out.end(), in.begin(), in.end()); }

}  // namespace ouroboros
