// OutgoingBytes: relayed messages that lie back to back in the input are sent from there, without
// a copy; anything else goes through the scratch buffer, in order.
#include "common/outgoing_bytes.h"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros;

namespace {
std::string text(ByteView b) { return std::string(as_chars(b)); }
ByteView view(const std::string& s, std::size_t from, std::size_t count) { return as_bytes(s).subspan(from, count); }
}  // namespace

TEST_CASE("messages back to back in the input stay one view of it") {
  const std::string input = "AAAABBBCC";
  Bytes scratch;
  OutgoingBytes out(scratch);
  CHECK(out.empty());
  out.relay(view(input, 0, 4));
  out.relay(view(input, 4, 3));
  out.relay(view(input, 7, 2));
  CHECK(out.bytes().data() == reinterpret_cast<const std::uint8_t*>(input.data()));  // not copied
  CHECK(text(out.bytes()) == "AAAABBBCC");
  CHECK(scratch.empty());
  out.clear();
  CHECK(out.empty());
}

TEST_CASE("a gap (a message dropped) or a composed message copies, keeping the order") {
  const std::string input = "AAAAxxBBB";
  Bytes scratch;
  OutgoingBytes out(scratch);
  out.relay(view(input, 0, 4));
  out.relay(view(input, 6, 3));  // "xx" was not forwarded
  CHECK(text(out.bytes()) == "AAAABBB");
  append(out.copied(), as_bytes("Z"));
  out.relay(view(input, 0, 1));  // after a copy, relayed bytes are copied too
  CHECK(text(out.bytes()) == "AAAABBBZA");
  CHECK(out.size() == 9);
}

TEST_CASE("a composed message first, then relayed bytes") {
  const std::string input = "AB";
  Bytes scratch = {'o', 'l', 'd'};  // a borrowed buffer starts empty
  OutgoingBytes out(scratch);
  append(out.copied(), as_bytes("E"));
  out.relay(view(input, 0, 2));
  CHECK(text(out.bytes()) == "EAB");
}
