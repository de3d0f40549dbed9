#include "admin/text_format.h"

#include <chrono>
#include <cstdio>

namespace ouroboros::admin {

std::string format_time(SystemTime time) {
  using namespace std::chrono;
  const auto seconds_since_epoch = floor<seconds>(time);
  const auto day = floor<days>(seconds_since_epoch);
  const year_month_day date{day};
  const hh_mm_ss clock{seconds_since_epoch - day};
  char text[48];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u %02lld:%02lld:%02lld UTC",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<long long>(clock.hours().count()),
                static_cast<long long>(clock.minutes().count()),
                static_cast<long long>(clock.seconds().count()));
  return text;
}

std::string format_milliseconds(Microseconds duration) {
  const long long us = duration.count() > 0 ? static_cast<long long>(duration.count()) : 0;
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%03lld", us / 1000, us % 1000);
  return text;
}

std::int64_t whole_seconds(Microseconds duration) {
  return duration.count() > 0 ? static_cast<std::int64_t>(duration.count() / 1'000'000) : 0;
}

std::int64_t microseconds_part(Microseconds duration) {
  return duration.count() > 0 ? static_cast<std::int64_t>(duration.count() % 1'000'000) : 0;
}

std::string format_id(std::uint64_t id) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(id));
  return text;
}

namespace {

// Length of the well-formed UTF-8 sequence starting at text[at], or 0 if it is not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  std::size_t at = 0;
  while (at < text.size()) {
    const auto lead = static_cast<unsigned char>(text[at]);
    std::size_t length = utf8_sequence_length(text, at);
    const bool control = lead < 0x20 || lead == 0x7F;
    if (out.size() + (length == 0 ? 1 : length) > max_bytes) {
      out += "...";
      break;
    }
    if (length == 0 || control) {
      out.push_back('?');
      length = length == 0 ? 1 : length;
    } else {
      out.append(text.substr(at, length));
    }
    at += length;
  }
  return out;
}

}  // namespace ouroboros::admin
