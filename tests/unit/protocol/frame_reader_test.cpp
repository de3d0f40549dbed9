#include "protocol/frame_reader.h"

#include <doctest/doctest.h>

#include <vector>

#include "protocol/messages.h"
#include "wire.h"

using namespace ouroboros;
using namespace ouroboros::protocol;
using ouroboros::test::wire;

namespace {

// One frame as the reader reported it, owning its bytes so it can be compared after the buffer
// it came from has been consumed.
struct ReadFrame {
  char type;
  Bytes body;
  std::size_t size;
  bool operator==(const ReadFrame&) const = default;
};

// A connection as a server sees it: one startup packet, then typed messages.
Bytes sample_stream() {
  Bytes stream;
  encode_startup(stream, {{"user", "alice"}, {"database", "app"}});
  encode_query(stream, "SELECT 1");
  encode_parse(stream, "s", "SELECT $1", {23});
  encode_sync(stream);
  encode_password(stream, "");
  encode_terminate(stream);
  return stream;
}

// Feeds `stream` in the given pieces, the way a socket would deliver it, and collects the frames.
std::vector<ReadFrame> read_in_pieces(const Bytes& stream, const std::vector<std::size_t>& cuts) {
  const FrameReader reader(1024);
  std::vector<ReadFrame> frames;
  Bytes buffer;
  bool startup = true;
  std::size_t from = 0;
  auto feed_until = [&](std::size_t to) {
    buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(from),
                  stream.begin() + static_cast<std::ptrdiff_t>(to));
    from = to;
    for (;;) {
      // Read from a heap copy of exactly the buffered bytes so ASan sees any over-read.
      const Bytes exact(buffer);
      const FrameResult result = startup ? reader.read_startup(exact) : reader.read_typed(exact);
      REQUIRE(result.status != FrameStatus::Malformed);
      if (result.status == FrameStatus::NeedMore) return;
      REQUIRE(result.frame.size <= buffer.size());
      frames.push_back({result.frame.type, test::to_bytes(result.frame.body), result.frame.size});
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(result.frame.size));
      startup = false;
    }
  };
  for (std::size_t cut : cuts) feed_until(cut);
  feed_until(stream.size());
  CHECK(buffer.empty());
  return frames;
}

}  // namespace

TEST_CASE("read_startup: complete, incomplete and malformed packets") {
  const FrameReader reader(1024);
  const Bytes packet = wire({0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F});  // SSLRequest
  const FrameResult ready = reader.read_startup(packet);
  REQUIRE(ready.status == FrameStatus::Ready);
  CHECK(ready.frame.type == kUntyped);
  CHECK(ready.frame.size == 8);
  CHECK(test::to_bytes(ready.frame.body) == wire({0x04, 0xD2, 0x16, 0x2F}));

  for (std::size_t n = 0; n < packet.size(); ++n) {
    const Bytes prefix(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(reader.read_startup(prefix).status == FrameStatus::NeedMore);
  }

  for (int length : {0, 4, 7, -1}) {
    const auto u = static_cast<std::uint32_t>(length);
    const Bytes bad = wire({static_cast<int>(u >> 24), static_cast<int>((u >> 16) & 0xFF),
                            static_cast<int>((u >> 8) & 0xFF), static_cast<int>(u & 0xFF)});
    const FrameResult result = reader.read_startup(bad);
    CHECK(result.status == FrameStatus::Malformed);
    CHECK_FALSE(result.error.empty());
  }
  // kMaxStartupPacket is allowed (and waits for its bytes); one more is malformed.
  CHECK(reader.read_startup(wire({0, 0, 0x27, 0x10})).status == FrameStatus::NeedMore);
  CHECK(reader.read_startup(wire({0, 0, 0x27, 0x11})).status == FrameStatus::Malformed);
}

TEST_CASE("read_typed: complete, incomplete and malformed messages") {
  const FrameReader reader(16);
  const Bytes message = wire({'Z', 0, 0, 0, 5, 'I', 'Q'});  // one message plus a stray byte
  const FrameResult ready = reader.read_typed(message);
  REQUIRE(ready.status == FrameStatus::Ready);
  CHECK(ready.frame.type == 'Z');
  CHECK(ready.frame.size == 6);
  CHECK(test::to_bytes(ready.frame.body) == wire({'I'}));

  for (std::size_t n = 0; n < 6; ++n) {
    const Bytes prefix(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(reader.read_typed(prefix).status == FrameStatus::NeedMore);
  }

  // An empty body is fine.
  const FrameResult empty = reader.read_typed(wire({'S', 0, 0, 0, 4}));
  REQUIRE(empty.status == FrameStatus::Ready);
  CHECK(empty.frame.body.empty());
  CHECK(empty.frame.size == 5);

  // Lengths below 4 (including negative ones) and bodies over the limit are malformed as soon
  // as the header is there, without waiting for the body.
  for (const Bytes& bad : {wire({'Q', 0, 0, 0, 3}), wire({'Q', 0, 0, 0, 0}),
                           wire({'Q', 0xFF, 0xFF, 0xFF, 0xFF}), wire({'Q', 0x80, 0, 0, 0}),
                           wire({'Q', 0, 0, 0, 21}), wire({'Q', 0x7F, 0xFF, 0xFF, 0xFF})}) {
    const FrameResult result = reader.read_typed(bad);
    CHECK(result.status == FrameStatus::Malformed);
    CHECK_FALSE(result.error.empty());
    CHECK(reader.peek_typed_header(bad).status == FrameStatus::Malformed);
  }
  // Exactly the limit is allowed.
  CHECK(reader.read_typed(wire({'Q', 0, 0, 0, 20})).status == FrameStatus::NeedMore);
}

TEST_CASE("peek_typed_header needs only the 5 header bytes") {
  const FrameReader reader(1 << 20);
  const Bytes header = wire({'D', 0, 0x01, 0, 0x04});
  for (std::size_t n = 0; n < header.size(); ++n) {
    const Bytes prefix(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(reader.peek_typed_header(prefix).status == FrameStatus::NeedMore);
  }
  const HeaderResult result = reader.peek_typed_header(header);
  REQUIRE(result.status == FrameStatus::Ready);
  CHECK(result.type == 'D');
  CHECK(result.body_length == 0x10000);
  CHECK(reader.read_typed(header).status == FrameStatus::NeedMore);
  CHECK(reader.max_message_size() == (1u << 20));
}

TEST_CASE("FrameReader reassembles a stream split at every byte boundary") {
  const Bytes stream = sample_stream();
  const std::vector<ReadFrame> expected = read_in_pieces(stream, {});
  REQUIRE(expected.size() == 6);
  CHECK(expected[0].type == kUntyped);
  CHECK(expected[1].type == 'Q');
  CHECK(expected[5].type == 'X');

  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    CHECK(read_in_pieces(stream, {cut}) == expected);
  }
  for (std::size_t a = 1; a < stream.size(); ++a) {
    for (std::size_t b = a; b < stream.size(); ++b) {
      if (read_in_pieces(stream, {a, b}) != expected) {
        FAIL("split at " << a << " and " << b << " differs");
      }
    }
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  CHECK(read_in_pieces(stream, every_byte) == expected);
}
