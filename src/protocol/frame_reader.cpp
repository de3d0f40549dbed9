#include "protocol/frame_reader.h"

namespace ouroboros::protocol {
namespace {

constexpr std::size_t kLengthSize = 4;
constexpr std::size_t kTypedHeaderSize = 1 + kLengthSize;

// Length fields are signed on the wire; a negative one must read as "too small", not as 2 GB.
std::int64_t read_length(ByteView at) {
  const std::uint32_t raw = (std::uint32_t{at[0]} << 24) | (std::uint32_t{at[1]} << 16) |
                            (std::uint32_t{at[2]} << 8) | std::uint32_t{at[3]};
  return static_cast<std::int32_t>(raw);
}

FrameResult malformed(std::string_view why) {
  FrameResult result;
  result.status = FrameStatus::Malformed;
  result.error = why;
  return result;
}

}  // namespace

FrameResult FrameReader::read_startup(ByteView buffer) const {
  if (buffer.size() < kLengthSize) return {};
  const std::int64_t length = read_length(buffer);
  // The smallest real packet is the length plus the 4-byte protocol/request code.
  if (length < 8) return malformed("startup packet length too small");
  if (static_cast<std::uint64_t>(length) > kMaxStartupPacket) {
    return malformed("startup packet too large");
  }
  const auto size = static_cast<std::size_t>(length);
  if (buffer.size() < size) return {};

  FrameResult result;
  result.status = FrameStatus::Ready;
  result.frame.type = kUntyped;
  result.frame.body = buffer.subspan(kLengthSize, size - kLengthSize);
  result.frame.size = size;
  return result;
}

HeaderResult FrameReader::peek_typed_header(ByteView buffer) const {
  HeaderResult result;
  if (buffer.size() < kTypedHeaderSize) return result;
  const std::int64_t length = read_length(buffer.subspan(1));
  if (length < static_cast<std::int64_t>(kLengthSize)) {
    result.status = FrameStatus::Malformed;
    result.error = "message length too small";
    return result;
  }
  const auto body_length = static_cast<std::size_t>(length) - kLengthSize;
  if (body_length > max_message_size_) {
    result.status = FrameStatus::Malformed;
    result.error = "message too large";
    return result;
  }
  result.status = FrameStatus::Ready;
  result.type = static_cast<char>(buffer[0]);
  result.body_length = body_length;
  return result;
}

FrameResult FrameReader::read_typed(ByteView buffer) const {
  const HeaderResult header = peek_typed_header(buffer);
  if (header.status == FrameStatus::Malformed) return malformed(header.error);
  if (header.status == FrameStatus::NeedMore) return {};
  const std::size_t size = kTypedHeaderSize + header.body_length;
  if (buffer.size() < size) return {};

  FrameResult result;
  result.status = FrameStatus::Ready;
  result.frame.type = header.type;
  result.frame.body = buffer.subspan(kTypedHeaderSize, header.body_length);
  result.frame.size = size;
  return result;
}

}  // namespace ouroboros::protocol
