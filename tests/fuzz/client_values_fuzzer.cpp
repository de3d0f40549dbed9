// libFuzzer target for the client library's text parsers (src/client convert_*.cpp, decimal.cpp):
// the first byte picks a type, the rest is the server's text. A parser either throws
// ConversionError or returns a value whose text form parses back to the same value and text.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "ouroboros/convert.hpp"

using namespace ouroboros;
using fuzz::require;

namespace {

template <class T>
std::string text_of(const T& value) {
  std::string out;
  Conversion<T>::to_text(value, out);
  return out;
}

// Parses `text`; when it is accepted, what to_text writes must parse to an equal value whose text
// is the same again. Only the first parse may reject its input.
template <class T>
std::optional<T> round_trip(std::string_view text) {
  std::optional<T> value;
  try {
    value = Conversion<T>::from_text(text);
  } catch (const ConversionError&) {
    return std::nullopt;
  }
  const std::string written = text_of(*value);
  const T again = Conversion<T>::from_text(written);
  require(text_of(again) == written);
  if constexpr (!std::is_floating_point_v<T>) require(again == *value);
  return value;
}

// Decimal arithmetic is exact: (a + b) - b == a, a * 1 == a, a - a == 0, and the order agrees.
void check_decimals(std::string_view text) {
  const std::size_t bar = text.find('|');
  if (bar == std::string_view::npos) return;
  const auto a = round_trip<Decimal>(text.substr(0, bar));
  const auto b = round_trip<Decimal>(text.substr(bar + 1));
  if (!a || !b) return;
  require((*a < *b) == (*b > *a) && (*a == *b) == (*b == *a));
  if (!a->is_finite() || !b->is_finite()) return;
  // Keep the arithmetic small enough for a fuzzer's time budget.
  if (a->precision() + a->scale() > 4000 || b->precision() + b->scale() > 4000) return;
  require((*a + *b) - *b == *a);
  require(*a * Decimal(1) == *a);
  require((*a - *a).is_zero());
  require((*a * *b) == (*b * *a));
  require((*a < *b) == (Decimal(0) < *b - *a));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text = fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 20) {
    case 0:
      round_trip<bool>(text);
      break;
    case 1:
      round_trip<std::int16_t>(text);
      break;
    case 2:
      round_trip<std::int32_t>(text);
      break;
    case 3:
      round_trip<std::int64_t>(text);
      break;
    case 4:
      round_trip<double>(text);
      break;
    case 5:
      round_trip<float>(text);
      break;
    case 6:
      round_trip<Decimal>(text);
      break;
    case 7:
      round_trip<Bytes>(text);
      break;
    case 8:
      round_trip<Uuid>(text);
      break;
    case 9:
      round_trip<Date>(text);
      break;
    case 10:
      round_trip<Timestamp>(text);
      break;
    case 11:
      round_trip<TimestampTz>(text);
      break;
    case 12:
      round_trip<TimeOfDay>(text);
      break;
    case 13:
      round_trip<Interval>(text);
      break;
    case 14:
      round_trip<std::vector<std::optional<std::string>>>(text);
      break;
    case 15:
      round_trip<std::vector<std::optional<std::int64_t>>>(text);
      break;
    case 16:
      round_trip<std::vector<std::optional<Decimal>>>(text);
      break;
    case 17:
      round_trip<std::vector<std::optional<Date>>>(text);
      break;
    case 18:
      round_trip<std::vector<std::optional<Interval>>>(text);
      break;
    default:
      check_decimals(text);
      break;
  }
  return 0;
}
