#pragma once
// FNV-1a, 64 bits: a cheap hash of a text for cache keys and change detection (not for anything
// an attacker could aim at, such as a hash table with an unbounded number of their keys).
#include <cstdint>
#include <string_view>

namespace ouroboros {

inline constexpr std::uint64_t kFnv1aOffset = 14695981039346656037ull;

// Continues `hash` over `text`; start from kFnv1aOffset.
constexpr std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = kFnv1aOffset) {
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace ouroboros
