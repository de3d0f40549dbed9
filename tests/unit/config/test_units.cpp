#include <doctest/doctest.h>

#include "config/config_loader.h"

using namespace ouroboros::config;
using namespace std::chrono_literals;

TEST_CASE("parse_duration accepts every unit") {
  CHECK(parse_duration("250ms") == Duration(250));
  CHECK(parse_duration("5s") == Duration(5000));
  CHECK(parse_duration("1m") == Duration(60'000));
  CHECK(parse_duration("1min") == Duration(60'000));
  CHECK(parse_duration("2h") == Duration(7'200'000));
  CHECK(parse_duration("1d") == Duration(86'400'000));
  CHECK(parse_duration("0s") == Duration(0));
  CHECK(parse_duration(" 7 s ") == Duration(7000));
}

TEST_CASE("parse_duration rounds microseconds up to milliseconds") {
  CHECK(parse_duration("100us") == Duration(1));
  CHECK(parse_duration("1500us") == Duration(2));
  CHECK(parse_duration("2000us") == Duration(2));
  CHECK(parse_duration("0us") == Duration(0));
}

TEST_CASE("parse_duration rejects malformed text") {
  CHECK_FALSE(parse_duration("60"));  // units are required
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("s"));
  CHECK_FALSE(parse_duration("5x"));
  CHECK_FALSE(parse_duration("5 seconds"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("1.5s"));
  CHECK_FALSE(parse_duration("5S"));
  CHECK_FALSE(parse_duration("99999999999999999999s"));  // does not fit 64 bits
  CHECK_FALSE(parse_duration("9999999999999999d"));      // overflows milliseconds
}

TEST_CASE("parse_size accepts bytes and binary units") {
  CHECK(parse_size("100") == 100u);
  CHECK(parse_size("100B") == 100u);
  CHECK(parse_size("512kB") == 512u * 1024);
  CHECK(parse_size("512KB") == 512u * 1024);
  CHECK(parse_size("64MB") == 64u << 20);
  CHECK(parse_size("64MiB") == 64u << 20);
  CHECK(parse_size("1GB") == std::size_t{1} << 30);
  CHECK(parse_size("2TB") == std::size_t{2} << 40);
  CHECK(parse_size("16 MB") == 16u << 20);
  CHECK(parse_size("0") == 0u);
}

TEST_CASE("parse_size rejects malformed text") {
  CHECK_FALSE(parse_size(""));
  CHECK_FALSE(parse_size("MB"));
  CHECK_FALSE(parse_size("1.5MB"));
  CHECK_FALSE(parse_size("-1"));
  CHECK_FALSE(parse_size("10XB"));
  CHECK_FALSE(parse_size("1m"));
  CHECK_FALSE(parse_size("99999999999999999999"));
  CHECK_FALSE(parse_size("17179869184GB"));  // 2^64 bytes
}
