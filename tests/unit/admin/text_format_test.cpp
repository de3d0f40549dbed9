#include "admin/text_format.h"

#include <doctest/doctest.h>

#include <chrono>

using namespace ouroboros::admin;
using std::chrono::microseconds;

TEST_CASE("format_time: UTC, whole seconds") {
  CHECK(format_time(SystemTime{}) == "1970-01-01 00:00:00 UTC");
  CHECK(format_time(SystemTime{} + std::chrono::seconds{1714566896} + microseconds{999'999}) ==
        "2024-05-01 12:34:56 UTC");
  CHECK(format_time(SystemTime{} + std::chrono::seconds{951782400}) ==
        "2000-02-29 00:00:00 UTC");  // leap day
}

TEST_CASE("format_milliseconds") {
  CHECK(format_milliseconds(microseconds{0}) == "0.000");
  CHECK(format_milliseconds(microseconds{1}) == "0.001");
  CHECK(format_milliseconds(microseconds{1'234'567}) == "1234.567");
  CHECK(format_milliseconds(microseconds{-5}) == "0.000");
}

TEST_CASE("seconds and microseconds parts") {
  CHECK(whole_seconds(microseconds{3'000'001}) == 3);
  CHECK(microseconds_part(microseconds{3'000'001}) == 1);
  CHECK(whole_seconds(microseconds{-1}) == 0);
  CHECK(microseconds_part(microseconds{-1}) == 0);
}

TEST_CASE("format_id") {
  CHECK(format_id(0) == "0x0");
  CHECK(format_id(26) == "0x1a");
  CHECK(format_id(~0ULL) == "0xffffffffffffffff");
}

TEST_CASE("printable: control bytes and broken UTF-8 become '?', length is bounded") {
  CHECK(printable("plain text") == "plain text");
  CHECK(printable(std::string("a\0b\n\x7f", 5)) == "a?b??");
  CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");            // é kept
  CHECK(printable("\xf0\x9f\x90\x8d") == "\xf0\x9f\x90\x8d");  // 4-byte character kept
  CHECK(printable("caf\xc3") == "caf?");                       // truncated sequence
  CHECK(printable("\xc0\xaf") == "??");                        // overlong
  CHECK(printable("\xed\xa0\x80") == "???");                   // surrogate
  CHECK(printable("\xff\xfe") == "??");
  CHECK(printable("abcdef", 3) == "abc...");
  CHECK(printable("ab\xc3\xa9", 3) == "ab...");  // never splits a character
}
