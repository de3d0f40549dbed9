#pragma once
// Read buffers lent to connections while bytes are in flight, one pool per event loop: an idle
// connection holds no buffer, and a busy loop reuses the same few blocks instead of allocating
// one per read.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ouroboros::io {

class BufferPool {
 public:
  static constexpr std::size_t kBlockSize = 64 * 1024;

  // A block of kBlockSize bytes (size() == kBlockSize).
  std::vector<std::uint8_t> take();
  // Returns a block. Blocks of another size (grown for a large message) are freed, and so are
  // blocks beyond the few kept for reuse.
  void give(std::vector<std::uint8_t>&& block);
  std::size_t kept() const { return free_.size(); }

 private:
  static constexpr std::size_t kMaxKept = 32;
  std::vector<std::vector<std::uint8_t>> free_;
};

}  // namespace ouroboros::io
