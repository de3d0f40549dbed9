#include "protocol/message_stream.h"

#include <doctest/doctest.h>

#include <vector>

#include "protocol/messages.h"
#include "wire.h"

using namespace ouroboros;
using namespace ouroboros::protocol;
using ouroboros::test::wire;

namespace {

// A message as the caller sees it after reassembly: whole messages keep their body, pass-through
// pieces are joined back into the raw message bytes (header included).
struct Delivered {
  StreamEventKind kind;
  char type;
  Bytes bytes;
  bool operator==(const Delivered&) const = default;
};

const TypeSet kWhole{'Z', 'E', 'C'};

// What a server might send: small messages the proxy reads and large rows it must not buffer.
Bytes sample_stream() {
  Bytes stream;
  MessageWriter(stream, 'T')
      .int16(1)
      .cstring("a")
      .int32(0)
      .int16(0)
      .int32(25)
      .int16(-1)
      .int32(-1)
      .int16(0)
      .finish();
  for (int row = 0; row < 3; ++row) {
    MessageWriter(stream, 'D').int16(1).int32(40).bytes(as_bytes(std::string(40, 'x'))).finish();
  }
  encode_command_complete(stream, "SELECT 3");
  MessageWriter(stream, 'n').finish();  // NoData: an empty pass-through message
  encode_error_response(stream, test::error_spec("ERROR", "42P01", "nope"));
  encode_ready_for_query(stream, 'I');
  return stream;
}

// Drives a MessageStream the way a relay does: append what arrived, take events until NeedMore,
// drop what each event consumed.
std::vector<Delivered> stream_in_pieces(const Bytes& stream, const std::vector<std::size_t>& cuts) {
  MessageStream messages(FrameReader(256), kWhole);
  std::vector<Delivered> out;
  Bytes buffer;
  std::size_t from = 0;
  auto feed_until = [&](std::size_t to) {
    buffer.insert(buffer.end(), stream.begin() + static_cast<std::ptrdiff_t>(from),
                  stream.begin() + static_cast<std::ptrdiff_t>(to));
    from = to;
    for (;;) {
      const Bytes exact(buffer);  // exact-size heap copy: over-reads trip ASan
      const StreamEvent event = messages.next(exact);
      REQUIRE(event.kind != StreamEventKind::Malformed);
      if (event.kind == StreamEventKind::NeedMore) {
        CHECK(event.consumed == 0);
        break;
      }
      REQUIRE(event.consumed > 0);  // every other event makes progress
      REQUIRE(event.consumed <= buffer.size());
      if (event.kind == StreamEventKind::WholeMessage) {
        CHECK(event.type == event.frame.type);
        CHECK(event.consumed == event.frame.size);
        out.push_back({event.kind, event.type, test::to_bytes(event.frame.body)});
      } else {
        CHECK(event.consumed == event.bytes.size());
        if (event.message_start) {
          out.push_back({event.kind, event.type, {}});
        } else {
          REQUIRE_FALSE(out.empty());
          CHECK(out.back().kind == StreamEventKind::PassThrough);
          CHECK(out.back().type == event.type);
        }
        append(out.back().bytes, event.bytes);
      }
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(event.consumed));
    }
    // Pass-through bytes are never held back: what stays buffered is at most a partial header
    // or part of a message wanted whole.
    if (buffer.size() >= 5) CHECK(kWhole.contains(static_cast<char>(buffer[0])));
  };
  for (std::size_t cut : cuts) feed_until(cut);
  feed_until(stream.size());
  CHECK(buffer.empty());
  CHECK_FALSE(messages.mid_message());
  return out;
}

}  // namespace

TEST_CASE("MessageStream delivers whole and pass-through messages from one buffer") {
  const Bytes stream = sample_stream();
  const std::vector<Delivered> events = stream_in_pieces(stream, {});
  REQUIRE(events.size() == 8);
  CHECK(events[0].kind == StreamEventKind::PassThrough);
  CHECK(events[0].type == 'T');
  CHECK(events[1].type == 'D');
  CHECK(events[1].bytes.size() == 1 + 4 + 2 + 4 + 40);
  CHECK(events[4] == Delivered{StreamEventKind::WholeMessage, 'C', wire({"SELECT 3", 0})});
  CHECK(events[5] == Delivered{StreamEventKind::PassThrough, 'n', wire({'n', 0, 0, 0, 4})});
  CHECK(events[6].kind == StreamEventKind::WholeMessage);
  CHECK(events[7] == Delivered{StreamEventKind::WholeMessage, 'Z', wire({'I'})});

  // Pass-through bytes, joined, are exactly the original stream minus the whole messages.
  Bytes rebuilt;
  for (const Delivered& d : events) {
    if (d.kind == StreamEventKind::PassThrough) {
      append(rebuilt, d.bytes);
    } else {
      MessageWriter(rebuilt, d.type).bytes(d.bytes).finish();
    }
  }
  CHECK(rebuilt == stream);
}

TEST_CASE("MessageStream gives the same result for a stream split at every byte boundary") {
  const Bytes stream = sample_stream();
  const std::vector<Delivered> expected = stream_in_pieces(stream, {});
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    CHECK(stream_in_pieces(stream, {cut}) == expected);
  }
  for (std::size_t a = 1; a < stream.size(); a += 3) {
    for (std::size_t b = a; b < stream.size(); ++b) {
      if (stream_in_pieces(stream, {a, b}) != expected) {
        FAIL("split at " << a << " and " << b << " differs");
      }
    }
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < stream.size(); ++i) every_byte.push_back(i);
  CHECK(stream_in_pieces(stream, every_byte) == expected);
}

TEST_CASE("MessageStream forwards a pass-through header before its body arrives") {
  MessageStream messages(FrameReader(64), kWhole);
  CHECK(messages.next({}).kind == StreamEventKind::NeedMore);
  const Bytes partial = wire({'D', 0, 0, 0, 10, 0});
  CHECK(messages.next(ByteView(partial).first(4)).kind == StreamEventKind::NeedMore);

  StreamEvent event = messages.next(ByteView(partial).first(5));
  REQUIRE(event.kind == StreamEventKind::PassThrough);
  CHECK(event.message_start);
  CHECK(event.type == 'D');
  CHECK(event.consumed == 5);
  CHECK(messages.mid_message());

  CHECK(messages.next({}).kind == StreamEventKind::NeedMore);
  // The remaining 6 body bytes arrive with the start of the next message: only 6 are taken.
  const Bytes rest = wire({1, 2, 3, 4, 5, 6, 'Z', 0, 0, 0, 5, 'T'});
  event = messages.next(rest);
  REQUIRE(event.kind == StreamEventKind::PassThrough);
  CHECK_FALSE(event.message_start);
  CHECK(event.type == 'D');
  CHECK(event.consumed == 6);
  CHECK(test::to_bytes(event.bytes) == wire({1, 2, 3, 4, 5, 6}));
  CHECK_FALSE(messages.mid_message());

  event = messages.next(ByteView(rest).subspan(6));
  REQUIRE(event.kind == StreamEventKind::WholeMessage);
  CHECK(event.frame.type == 'Z');
  CHECK(event.consumed == 6);
}

TEST_CASE("MessageStream: a message wanted whole waits for all of it") {
  MessageStream messages(FrameReader(64), kWhole);
  const Bytes message = wire({'C', 0, 0, 0, 13, "SELECT 1", 0});
  for (std::size_t n = 0; n < message.size(); ++n) {
    const StreamEvent event = messages.next(ByteView(message).first(n));
    CHECK(event.kind == StreamEventKind::NeedMore);
    CHECK(event.consumed == 0);
  }
  const StreamEvent event = messages.next(message);
  REQUIRE(event.kind == StreamEventKind::WholeMessage);
  CHECK(event.consumed == message.size());
}

TEST_CASE("MessageStream: malformed lengths poison the stream") {
  SUBCASE("whole message larger than the reader allows") {
    MessageStream messages(FrameReader(8), kWhole);
    const StreamEvent event = messages.next(wire({'E', 0, 0, 0, 13}));
    CHECK(event.kind == StreamEventKind::Malformed);
    CHECK_FALSE(event.error.empty());
    CHECK(event.consumed == 0);
  }
  SUBCASE("whole message length below 4") {
    MessageStream messages(FrameReader(8), kWhole);
    CHECK(messages.next(wire({'Z', 0, 0, 0, 3, 'I'})).kind == StreamEventKind::Malformed);
  }
  SUBCASE("pass-through length below 4 or negative") {
    MessageStream messages(FrameReader(8), kWhole);
    CHECK(messages.next(wire({'D', 0xFF, 0xFF, 0xFF, 0xFC})).kind == StreamEventKind::Malformed);
  }
  SUBCASE("pass-through body above its own limit, not the reader's") {
    MessageStream small(FrameReader(8), kWhole, 100);
    CHECK(small.next(wire({'D', 0, 0, 0, 104})).kind == StreamEventKind::PassThrough);
    MessageStream over(FrameReader(8), kWhole, 100);
    CHECK(over.next(wire({'D', 0, 0, 0, 105})).kind == StreamEventKind::Malformed);
  }
  SUBCASE("the default limit allows PostgreSQL's 1 GB messages") {
    MessageStream messages(FrameReader(8), kWhole);
    CHECK(messages.next(wire({'D', 0x40, 0, 0, 0x04})).kind == StreamEventKind::PassThrough);
    CHECK(messages.mid_message());
  }
  SUBCASE("malformed is sticky") {
    MessageStream messages(FrameReader(8), kWhole);
    CHECK(messages.next(wire({'D', 0, 0, 0, 0})).kind == StreamEventKind::Malformed);
    const StreamEvent again = messages.next(wire({'Z', 0, 0, 0, 5, 'I'}));
    CHECK(again.kind == StreamEventKind::Malformed);
    CHECK_FALSE(again.error.empty());
    CHECK(messages.next({}).kind == StreamEventKind::Malformed);
  }
}

TEST_CASE("MessageStream: changing the whole set applies from the next message") {
  MessageStream messages(FrameReader(64), TypeSet{});
  const Bytes ready = wire({'Z', 0, 0, 0, 5, 'I'});
  CHECK(messages.next(ready).kind == StreamEventKind::PassThrough);
  messages.set_whole_types(TypeSet{'Z'});
  CHECK(messages.next(ready).kind == StreamEventKind::WholeMessage);

  TypeSet set{'\0', '\x7f', '\x80', '\xff'};
  CHECK(set.contains('\0'));
  CHECK(set.contains('\xff'));
  CHECK(set.contains('\x80'));
  CHECK_FALSE(set.contains('\x81'));
  CHECK_FALSE(set.contains('A'));
}
