#pragma once
// Bytes read from a socket and not yet consumed. The transport reads straight into the free tail;
// the protocol layer consumes from the front. Growth is bounded by `capacity_limit`.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace ouroboros::io {

class InputBuffer {
 public:
  explicit InputBuffer(std::size_t capacity_limit) : limit_(capacity_limit) {}

  ByteView view() const { return {data_.data() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(std::size_t n);

  // Free space at the tail, at least `want` bytes when the limit allows (compacts or grows);
  // an empty span means the buffer is full.
  std::span<std::uint8_t> tail(std::size_t want);
  void commit(std::size_t n) { end_ += n; }
  void set_limit(std::size_t limit) { limit_ = limit; }

 private:
  std::vector<std::uint8_t> data_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t limit_;
};

}  // namespace ouroboros::io
