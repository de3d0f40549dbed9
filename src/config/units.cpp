// Duration and size syntax: an unsigned integer followed by a unit.
#include <cctype>
#include <charconv>
#include <cstdint>
#include <limits>

#include "config/config_loader.h"

namespace ouroboros::config {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

// Splits "250ms" into 250 and "ms"; false when there is no leading number or it overflows.
bool split_number(std::string_view text, std::uint64_t& number, std::string_view& unit) {
  text = trim(text);
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return false;
  unit = trim(text.substr(digits));
  return true;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  std::uint64_t number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;

  constexpr auto max_ms = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  if (unit == "us")
    return Duration(static_cast<Duration::rep>(number / 1000 + (number % 1000 != 0)));

  std::uint64_t ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m" || unit == "min") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 60 * 60 * 1000;
  } else if (unit == "d") {
    ms_per_unit = 24 * 60 * 60 * 1000;
  } else {
    return std::nullopt;  // also a bare number: units are required
  }
  if (number > max_ms / ms_per_unit) return std::nullopt;
  return Duration(static_cast<Duration::rep>(number * ms_per_unit));
}

std::optional<std::size_t> parse_size(std::string_view text) {
  std::uint64_t number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) return std::nullopt;

  struct Unit {
    std::string_view name;
    int shift;
  };
  static constexpr Unit units[] = {{"", 0},     {"B", 0},   {"kB", 10},  {"KiB", 10}, {"MB", 20},
                                   {"MiB", 20}, {"GB", 30}, {"GiB", 30}, {"TB", 40},  {"TiB", 40}};
  for (const Unit& candidate : units) {
    if (!equals_ignoring_case(unit, candidate.name)) continue;
    constexpr std::uint64_t max = std::numeric_limits<std::size_t>::max();
    if (number > (max >> candidate.shift)) return std::nullopt;
    return static_cast<std::size_t>(number << candidate.shift);
  }
  return std::nullopt;
}

}  // namespace ouroboros::config
