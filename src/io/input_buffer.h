#pragma once
// Bytes read from a socket and not yet consumed. The transport reads straight into the free tail;
// the protocol layer consumes from the front. Growth is bounded by `capacity_limit`.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"

namespace ouroboros::io {

class BufferPool;

class InputBuffer {
 public:
  // Without a pool the buffer keeps its storage; with one it borrows a block when bytes arrive
  // and gives it back (release_if_empty) once they are consumed.
  explicit InputBuffer(std::size_t capacity_limit, BufferPool* pool = nullptr)
      : limit_(capacity_limit), pool_(pool) {}
  ~InputBuffer();
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  ByteView view() const { return {data_.data() + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(std::size_t n);

  // Free space at the tail, at least `want` bytes when the limit allows (compacts or grows);
  // an empty span means the buffer is full.
  std::span<std::uint8_t> tail(std::size_t want);
  void commit(std::size_t n) { end_ += n; }
  void set_limit(std::size_t limit) { limit_ = limit; }
  // Everything was consumed: the storage goes back to the pool (an idle connection holds none),
  // unless keep_storage() was called.
  void release_if_empty();
  // A connection that is seldom idle (a pooled server) keeps its block between reads instead of
  // giving it back and taking it again on every read; it still goes back when the buffer dies.
  void keep_storage() { keep_ = true; }
  // A few bytes that must wait (a request queued for a server): kept in storage of their own
  // size, and the pool's block goes back, so thousands of waiting clients do not hold 64 KiB each.
  void compact();
  bool holds_storage() const { return !data_.empty(); }

 private:
  std::vector<std::uint8_t> data_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t limit_;
  BufferPool* pool_;
  bool keep_ = false;
};

}  // namespace ouroboros::io
