#include "protocol/message_stream.h"


namespace ouroboros::protocol {
namespace {

constexpr std::size_t kTypedHeaderSize = 5;

StreamEvent need_more() {
  return {};
}

}  // namespace

StreamEvent MessageStream::next_otherwise(ByteView input) {
  StreamEvent event;
  if (!error_.empty()) {
    event.kind = StreamEventKind::Malformed;
    event.error = error_;
    return event;
  }
  if (input.empty()) return need_more();

  if (remaining_ > 0) return pass_through_piece(input, current_type_, remaining_, false);

  if (input.size() < kTypedHeaderSize) return need_more();
  const char type = static_cast<char>(input[0]);

  if (whole_.contains(type)) {
    const FrameResult frame = reader_.read_typed(input);
    if (frame.status == FrameStatus::NeedMore) return need_more();
    if (frame.status == FrameStatus::Malformed) {
      error_ = frame.error;
      event.kind = StreamEventKind::Malformed;
      event.error = error_;
      return event;
    }
    event.kind = StreamEventKind::WholeMessage;
    event.frame = frame.frame;
    event.type = type;
    event.consumed = frame.frame.size;
    return event;
  }

  // Pass-through messages are bounded by their own limit, not by the reader's buffer size.
  const HeaderResult header = FrameReader(pass_through_limit_).peek_typed_header(input);
  if (header.status == FrameStatus::Malformed) {
    error_ = header.error;
    event.kind = StreamEventKind::Malformed;
    event.error = error_;
    return event;
  }
  return pass_through_piece(input, type, kTypedHeaderSize + header.body_length, true);
}

}  // namespace ouroboros::protocol
