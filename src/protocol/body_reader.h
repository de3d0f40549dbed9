#pragma once
// Bounds-checked big-endian reading of a message body, shared by the decoders. Header-only and
// allocation-free: a view and an offset.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "common/bytes.h"

namespace ouroboros::protocol {

// Bounds-checked reader over a message body. The first failed read poisons the reader, so a
// decoder can read every field and check once at the end; failed reads return zero values.
class BodyReader {
 public:
  explicit BodyReader(ByteView data) : data_(data) {}

  std::uint8_t int8() {
    if (!have(1)) return 0;
    return data_[pos_++];
  }
  std::int16_t int16() {
    if (!have(2)) return 0;
    const auto v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
    pos_ += 2;
    return static_cast<std::int16_t>(v);
  }
  std::int32_t int32() {
    if (!have(4)) return 0;
    const std::uint32_t v = (std::uint32_t{data_[pos_]} << 24) |
                            (std::uint32_t{data_[pos_ + 1]} << 16) |
                            (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
    pos_ += 4;
    return static_cast<std::int32_t>(v);
  }
  // A NUL-terminated string; the view excludes the terminator.
  std::string_view cstring() {
    if (failed_) return {};
    const auto rest = data_.subspan(pos_);
    // memchr must not see the null data() of an empty span.
    const void* nul = rest.empty() ? nullptr : std::memchr(rest.data(), 0, rest.size());
    if (nul == nullptr) {
      failed_ = true;
      return {};
    }
    const auto length =
        static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - rest.data());
    pos_ += length + 1;
    return as_chars(rest.first(length));
  }
  // `count` raw bytes; a negative count is malformed.
  ByteView bytes(std::int64_t count) {
    if (count < 0) failed_ = true;
    if (failed_ || !have(static_cast<std::size_t>(count))) return {};
    const auto view = data_.subspan(pos_, static_cast<std::size_t>(count));
    pos_ += view.size();
    return view;
  }
  ByteView rest() { return bytes(static_cast<std::int64_t>(remaining())); }

  // A count field must be non-negative and its items (at least `item_size` bytes each) must fit
  // in what is left: this stops a forged count from reserving memory the body cannot back.
  std::size_t count16(std::size_t item_size) {
    const std::int16_t n = int16();
    if (n < 0 || static_cast<std::size_t>(n) * item_size > remaining()) failed_ = true;
    return failed_ ? 0 : static_cast<std::size_t>(n);
  }

  bool ok() const { return !failed_; }
  std::size_t remaining() const { return failed_ ? 0 : data_.size() - pos_; }
  // Every field read and nothing left over.
  bool finished() const { return !failed_ && pos_ == data_.size(); }

 private:
  bool have(std::size_t n) {
    if (failed_ || data_.size() - pos_ < n) failed_ = true;
    return !failed_;
  }

  ByteView data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace ouroboros::protocol
