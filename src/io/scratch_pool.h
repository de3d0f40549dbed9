#pragma once
// Byte buffers for assembling output on the data path, one pool per event loop: a relay step
// borrows one, fills it, sends it (Transport::send copies only what the socket does not take)
// and gives it back, so the steady state allocates nothing per message.
#include <cstddef>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace ouroboros::io {

class ScratchPool {
 public:
  // An empty buffer, with the capacity of one given back earlier when there is one.
  Bytes take() {
    if (free_.empty()) return Bytes();
    Bytes bytes = std::move(free_.back());
    free_.pop_back();
    return bytes;
  }
  // Buffers that grew large (a big result) are freed rather than kept.
  void give(Bytes&& bytes) {
    if (bytes.capacity() == 0 || bytes.capacity() > kMaxKeptCapacity || free_.size() >= kMaxKept) return;
    bytes.clear();
    free_.push_back(std::move(bytes));
  }

 private:
  static constexpr std::size_t kMaxKept = 16;
  static constexpr std::size_t kMaxKeptCapacity = 64 * 1024;
  std::vector<Bytes> free_;
};

// A buffer borrowed from a ScratchPool for one scope.
class Scratch {
 public:
  explicit Scratch(ScratchPool& pool) : pool_(pool), bytes_(pool.take()) {}
  ~Scratch() { pool_.give(std::move(bytes_)); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  Bytes& bytes() { return bytes_; }

 private:
  ScratchPool& pool_;
  Bytes bytes_;
};

}  // namespace ouroboros::io
