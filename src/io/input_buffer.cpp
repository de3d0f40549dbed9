#include "io/input_buffer.h"

#include "io/buffer_pool.h"

#include <algorithm>
#include <cstring>

namespace ouroboros::io {

void InputBuffer::consume(std::size_t n) {
  begin_ += std::min(n, size());
  if (begin_ == end_) begin_ = end_ = 0;
}

InputBuffer::~InputBuffer() {
  if (pool_ && !data_.empty()) pool_->give(std::move(data_));
}

void InputBuffer::release_if_empty() {
  if (!pool_ || keep_ || !empty() || data_.empty()) return;
  pool_->give(std::move(data_));
  data_.clear();
  begin_ = end_ = 0;
}

void InputBuffer::compact() {
  if (!pool_ || data_.size() != BufferPool::kBlockSize || size() > BufferPool::kBlockSize / 8) return;
  std::vector<std::uint8_t> own(data_.begin() + static_cast<std::ptrdiff_t>(begin_),
                                data_.begin() + static_cast<std::ptrdiff_t>(end_));
  pool_->give(std::move(data_));
  data_ = std::move(own);
  end_ = data_.size();
  begin_ = 0;
}

std::span<std::uint8_t> InputBuffer::tail(std::size_t want) {
  if (data_.empty() && pool_ && limit_ >= BufferPool::kBlockSize) data_ = pool_->take();
  if (data_.size() - end_ >= want) return {data_.data() + end_, data_.size() - end_};
  // Move unconsumed bytes to the front before growing.
  if (begin_ > 0) {
    std::memmove(data_.data(), data_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (data_.size() - end_ < want && data_.size() < limit_) {
    std::size_t grown = std::max(data_.size() * 2, end_ + want);
    data_.resize(std::min(grown, limit_));
  }
  return {data_.data() + end_, data_.size() - end_};
}

}  // namespace ouroboros::io
