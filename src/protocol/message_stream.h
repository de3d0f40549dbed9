#pragma once
// Walks a stream of typed messages for a relay: small messages the proxy must understand are
// delivered whole; every other message is passed on piecewise as bytes arrive, so a 1 GB DataRow
// never sits in memory. Pure logic, no I/O.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "common/bytes.h"
#include "protocol/frame_reader.h"

namespace ouroboros::protocol {

// Which message types the caller wants whole (one bit per byte value).
class TypeSet {
 public:
  TypeSet() = default;
  TypeSet(std::initializer_list<char> types) {
    for (char t : types) add(t);
  }
  void add(char t) { bits_[static_cast<std::uint8_t>(t) / 64] |= 1ull << (static_cast<std::uint8_t>(t) % 64); }
  bool contains(char t) const {
    return bits_[static_cast<std::uint8_t>(t) / 64] & (1ull << (static_cast<std::uint8_t>(t) % 64));
  }

 private:
  std::uint64_t bits_[4] = {0, 0, 0, 0};
};

enum class StreamEventKind {
  NeedMore,      // nothing more can be done with the bytes given; call again with more
  WholeMessage,  // frame holds a complete message of a type in the "whole" set
  PassThrough,   // `bytes` are raw stream bytes to forward as they are (part of a message)
  Malformed,     // error says why; the stream is unusable afterwards
};

struct StreamEvent {
  StreamEventKind kind = StreamEventKind::NeedMore;
  Frame frame;           // WholeMessage: the message (body view into the input buffer)
  char type = kUntyped;  // WholeMessage / PassThrough: type of the message the bytes belong to
  bool message_start = false;  // PassThrough: these bytes begin a new message (header included)
  ByteView bytes;        // PassThrough: bytes to forward
  std::size_t consumed = 0;  // bytes of the input this event used up (the caller drops them)
  std::string_view error;
};

class MessageStream {
 public:
  // `whole` types are delivered complete and must fit in reader's max size (otherwise
  // Malformed); others pass through in pieces of any size. `pass_through_limit` bounds the
  // length field of pass-through messages (PostgreSQL caps messages at 1 GB).
  MessageStream(FrameReader reader, TypeSet whole, std::size_t pass_through_limit = (1u << 30) + 64)
      : reader_(reader), whole_(whole), pass_through_limit_(pass_through_limit) {}

  // Looks at the start of `input` (bytes not yet consumed) and returns the next event.
  // The caller removes `consumed` bytes from its buffer before calling again.
  StreamEvent next(ByteView input) {
    // Inline, the usual cases: nothing buffered; a message of a type read whole, all of it in
    // `input`; the start of a pass-through message. A length PostgreSQL would call negative is
    // far above either limit. Everything else (the rest of a pass-through message, a whole
    // message not all here, malformed input) is next_otherwise().
    if (remaining_ == 0 && error_.empty()) {
      if (input.empty()) return {};
      if (input.size() >= 5) {
        const char type = static_cast<char>(input[0]);
        const std::uint32_t length = (std::uint32_t{input[1]} << 24) | (std::uint32_t{input[2]} << 16) |
                                     (std::uint32_t{input[3]} << 8) | std::uint32_t{input[4]};
        const std::size_t total = std::size_t{length} + 1;
        if (whole_.contains(type)) {
          if (length >= 4 && length - 4 <= reader_.max_message_size() && input.size() >= total) {
            StreamEvent event;
            event.kind = StreamEventKind::WholeMessage;
            event.type = type;
            event.frame.type = type;
            event.frame.body = input.subspan(5, length - 4);
            event.frame.size = total;
            event.consumed = total;
            return event;
          }
        } else if (length >= 4 && length - 4 <= pass_through_limit_) {
          return pass_through_piece(input, type, total, true);
        }
      }
    }
    return next_otherwise(input);
  }

  // True while inside a pass-through message (its remaining bytes have not all been seen).
  bool mid_message() const { return remaining_ > 0; }
  void set_whole_types(TypeSet whole) { whole_ = whole; }

 private:
  StreamEvent next_otherwise(ByteView input);
  // What of a pass-through message with `left` bytes to go is in `input` now (at least its
  // header when `start`): forwarded at once, so a huge message never waits in memory.
  StreamEvent pass_through_piece(ByteView input, char type, std::size_t left, bool start) {
    const std::size_t n = std::min(left, input.size());
    remaining_ = left - n;
    current_type_ = type;
    StreamEvent event;
    event.kind = StreamEventKind::PassThrough;
    event.type = type;
    event.message_start = start;
    event.bytes = input.first(n);
    event.consumed = n;
    return event;
  }

  FrameReader reader_;
  TypeSet whole_;
  std::size_t pass_through_limit_;
  std::size_t remaining_ = 0;  // bytes of the current pass-through message still to come
  char current_type_ = kUntyped;
  std::string_view error_;  // set once the stream is malformed; every later call repeats it
};

}  // namespace ouroboros::protocol
