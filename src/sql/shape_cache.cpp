#include "sql/shape_cache.h"

namespace ouroboros::sql {

QueryShape ShapeCache::shape_of(std::string_view text) {
  if (text.size() > kMaxText) return query_shape(text);
  const std::uint64_t hash = whole_text_key(text);
  Slot& slot = slots_[hash % kSlots];
  if (slot.hash == hash && slot.text == text) {
    ++hits_;
    return slot.shape;
  }
  ++misses_;
  slot.hash = hash;
  slot.text.assign(text);
  slot.shape = query_shape(text);
  return slot.shape;
}

}  // namespace ouroboros::sql
