// Value types for PostgreSQL data that has no exact standard C++ equivalent.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ouroboros {

// A PostgreSQL type OID; 0 lets the server infer a parameter's type from context.
using Oid = unsigned int;

// date: days since 1970-01-01. 'infinity' / '-infinity' map to Date::max() / Date::min().
using Date = std::chrono::sys_days;
// timestamp (without time zone): a wall-clock reading, not an instant.
using Timestamp = std::chrono::local_time<std::chrono::microseconds>;
// timestamptz: an instant (UTC). Read correctly whatever the session's TimeZone is.
using TimestampTz = std::chrono::sys_time<std::chrono::microseconds>;

// time (without time zone): microseconds since midnight, 0 ..= 24:00:00.
struct TimeOfDay {
  std::chrono::microseconds since_midnight{0};
  friend auto operator<=>(const TimeOfDay&, const TimeOfDay&) = default;
};

// interval: months and days are not fixed durations, so they are kept apart as PostgreSQL does.
struct Interval {
  std::int32_t months = 0;
  std::int32_t days = 0;
  std::chrono::microseconds time{0};
  friend bool operator==(const Interval&, const Interval&) = default;
};

// uuid: 16 bytes; text form is the canonical 8-4-4-4-12 lower-case hex.
struct Uuid {
  std::array<std::uint8_t, 16> bytes{};
  static Uuid parse(std::string_view text);  // throws ConversionError
  std::string to_string() const;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
};

// json / jsonb: the document's text, unparsed (bring your own JSON library).
struct Json {
  std::string text;
  friend bool operator==(const Json&, const Json&) = default;
};

// bytea.
using Bytes = std::vector<std::byte>;

}  // namespace ouroboros
