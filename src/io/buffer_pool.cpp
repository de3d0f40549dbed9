#include "io/buffer_pool.h"

namespace ouroboros::io {

std::vector<std::uint8_t> BufferPool::take() {
  if (free_.empty()) return std::vector<std::uint8_t>(kBlockSize);
  std::vector<std::uint8_t> block = std::move(free_.back());
  free_.pop_back();
  return block;
}

void BufferPool::give(std::vector<std::uint8_t>&& block) {
  if (block.size() == kBlockSize && block.capacity() == kBlockSize && free_.size() < kMaxKept) {
    free_.push_back(std::move(block));
  }
  std::vector<std::uint8_t>().swap(block);  // whatever was not kept is freed now
}

}  // namespace ouroboros::io
