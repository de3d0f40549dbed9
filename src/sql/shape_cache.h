#pragma once
// The query shape of statement texts that come again and again: a prepared or unnamed Parse
// sends the same text with every execution (its values travel in Bind), so its shape is
// computed once and looked up by the text's hash after that. Direct-mapped and bounded (slots
// of texts up to kMaxText bytes); a slot holds its text, so a hit is exact, never a collision.
// One per event loop, like the rest of the per-query state. No I/O.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sql/query_shape.h"

namespace ouroboros::sql {

class ShapeCache {
 public:
  static constexpr std::size_t kSlots = 256;
  static constexpr std::size_t kMaxText = 2048;

  // query_shape(text), from the cache when this text was seen before.
  QueryShape shape_of(std::string_view text);

  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::string text;
    QueryShape shape;
  };
  std::array<Slot, kSlots> slots_;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
};

}  // namespace ouroboros::sql
