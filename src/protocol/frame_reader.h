#pragma once
// Incremental framing of the PostgreSQL v3 wire protocol. Pure functions over a byte span:
// "need more" never consumes anything, so the caller can simply retry with a longer buffer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bytes.h"

namespace ouroboros::protocol {

enum class FrameStatus { NeedMore, Ready, Malformed };

// Startup-phase packets have no type byte; typed messages do.
inline constexpr char kUntyped = '\0';
// PostgreSQL's own limit for a startup packet (MAX_STARTUP_PACKET_LENGTH).
inline constexpr std::size_t kMaxStartupPacket = 10000;

struct Frame {
  char type = kUntyped;  // message type byte, kUntyped for startup-phase packets
  ByteView body;         // the bytes after the length field
  std::size_t size = 0;  // bytes the frame occupies in the stream (type + length + body)
};

struct FrameResult {
  FrameStatus status = FrameStatus::NeedMore;
  Frame frame;                  // valid when status == Ready
  std::string_view error;       // static text, set when status == Malformed
};

// Header of a typed message, for callers that stream large bodies instead of buffering them.
struct HeaderResult {
  FrameStatus status = FrameStatus::NeedMore;
  char type = kUntyped;
  std::size_t body_length = 0;  // length field minus 4
  std::string_view error;
};

class FrameReader {
 public:
  // max_message_size bounds the length field of typed messages (startup packets are bounded by
  // kMaxStartupPacket). Lengths below 4 are always malformed.
  explicit FrameReader(std::size_t max_message_size) : max_message_size_(max_message_size) {}

  FrameResult read_startup(ByteView buffer) const;
  FrameResult read_typed(ByteView buffer) const;
  HeaderResult peek_typed_header(ByteView buffer) const;

  std::size_t max_message_size() const { return max_message_size_; }

 private:
  std::size_t max_message_size_;
};

}  // namespace ouroboros::protocol
