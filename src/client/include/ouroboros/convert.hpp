// Conversion traits: the one customization point between C++ types and PostgreSQL text values.
//
// Results and parameters use PostgreSQL's text format (exact and robust). To support a type of
// your own, specialize ouroboros::Conversion for it:
//
//   template <> struct ouroboros::Conversion<Money> {
//     static constexpr Oid oid = 0;        // parameter type OID; 0 lets the server infer it
//     static constexpr Oid array_oid = 0;  // OID of a one-dimensional array of it (0: infer)
//     static Money from_text(std::string_view text);                // server text -> value
//     static void to_text(const Money& value, std::string& out);   // value -> server text (append)
//   };
//
// A type that can represent NULL also provides `static bool is_null(const T&)` and `static T
// null()` (std::optional<T> does). A type only ever sent as a parameter may omit from_text.
#pragma once

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ouroboros/decimal.hpp"
#include "ouroboros/errors.hpp"
#include "ouroboros/types.hpp"

namespace ouroboros {

template <class T>
struct Conversion;  // deliberately undefined: no conversion known for T

template <class T>
concept FromText = requires(std::string_view text) {
  { Conversion<T>::from_text(text) } -> std::same_as<T>;
};

template <class T>
concept ToText = requires(const T& value, std::string& out) {
  Conversion<T>::to_text(value, out);
  { Conversion<T>::oid } -> std::convertible_to<Oid>;
};

template <class T>
concept Nullable = requires(const T& value) {
  { Conversion<T>::is_null(value) } -> std::convertible_to<bool>;
  { Conversion<T>::null() } -> std::same_as<T>;
};

// Well-known type OIDs (pg_type.oid), for parameters.
namespace oids {
inline constexpr Oid kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                     kJson = 114, kFloat4 = 700, kFloat8 = 701, kDate = 1082, kTime = 1083,
                     kTimestamp = 1114, kTimestampTz = 1184, kInterval = 1186, kNumeric = 1700,
                     kUuid = 2950, kJsonb = 3802;
inline constexpr Oid kBoolArray = 1000, kByteaArray = 1001, kInt2Array = 1005, kInt4Array = 1007,
                     kTextArray = 1009, kInt8Array = 1016, kFloat4Array = 1021, kFloat8Array = 1022,
                     kTimestampArray = 1115, kDateArray = 1182, kTimeArray = 1183,
                     kTimestampTzArray = 1185, kIntervalArray = 1187, kNumericArray = 1231,
                     kUuidArray = 2951;
}  // namespace oids

namespace detail {
[[noreturn]] void throw_conversion(std::string_view what, std::string_view text);
double parse_double(std::string_view text);
float parse_float(std::string_view text);
void format_double(double value, std::string& out);
void format_float(float value, std::string& out);
// Splits a one-dimensional array literal ({a,"b c",NULL}) into its elements (nullopt = NULL).
std::vector<std::optional<std::string>> parse_array(std::string_view text);
void append_array_element(std::string_view element_text, std::string& out);

template <class Integer>
Integer parse_integer(std::string_view text) {
  Integer value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    throw_conversion(
        ec == std::errc::result_out_of_range ? "integer out of range" : "invalid integer", text);
  return value;
}

template <class Integer>
void format_integer(Integer value, std::string& out) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;
  out.append(buffer, end);
}
}  // namespace detail

template <>
struct Conversion<bool> {
  static constexpr Oid oid = oids::kBool, array_oid = oids::kBoolArray;
  static bool from_text(std::string_view text);
  static void to_text(bool value, std::string& out) { out += value ? "true" : "false"; }
};

// Integers other than bool and the character types: int16 -> smallint, int32 -> integer,
// int64 -> bigint; unsigned types go to the next wider PostgreSQL type.
template <std::integral T>
requires(!std::same_as<T, bool> && !std::same_as<T, char> && !std::same_as<T, wchar_t> &&
         !std::same_as<T, char8_t> && !std::same_as<T, char16_t> &&
         !std::same_as<T, char32_t>) struct Conversion<T> {
  static constexpr std::size_t width = std::is_signed_v<T> ? sizeof(T) : sizeof(T) * 2;
  static constexpr Oid oid = width <= 2   ? oids::kInt2
                             : width <= 4 ? oids::kInt4
                             : width <= 8 ? oids::kInt8
                                          : oids::kNumeric;
  static constexpr Oid array_oid = width <= 2   ? oids::kInt2Array
                                   : width <= 4 ? oids::kInt4Array
                                   : width <= 8 ? oids::kInt8Array
                                                : oids::kNumericArray;
  static T from_text(std::string_view text) { return detail::parse_integer<T>(text); }
  static void to_text(T value, std::string& out) { detail::format_integer(value, out); }
};

template <>
struct Conversion<double> {
  static constexpr Oid oid = oids::kFloat8, array_oid = oids::kFloat8Array;
  static double from_text(std::string_view text) { return detail::parse_double(text); }
  static void to_text(double value, std::string& out) { detail::format_double(value, out); }
};

template <>
struct Conversion<float> {
  static constexpr Oid oid = oids::kFloat4, array_oid = oids::kFloat4Array;
  static float from_text(std::string_view text) { return detail::parse_float(text); }
  static void to_text(float value, std::string& out) { detail::format_float(value, out); }
};

template <>
struct Conversion<Decimal> {
  static constexpr Oid oid = oids::kNumeric, array_oid = oids::kNumericArray;
  static Decimal from_text(std::string_view text) { return Decimal(text); }
  static void to_text(const Decimal& value, std::string& out) { out += value.to_string(); }
};

// Text parameters are sent untyped (OID 0) so the server can read them as any type, the way a
// quoted SQL literal is; text[] is sent as text[].
template <>
struct Conversion<std::string> {
  static constexpr Oid oid = 0, array_oid = oids::kTextArray;
  static std::string from_text(std::string_view text) { return std::string(text); }
  static void to_text(const std::string& value, std::string& out) { out += value; }
};

// A view into the result's memory: valid while the Result it came from is alive.
template <>
struct Conversion<std::string_view> {
  static constexpr Oid oid = 0, array_oid = oids::kTextArray;
  static std::string_view from_text(std::string_view text) { return text; }
  static void to_text(std::string_view value, std::string& out) { out += value; }
};

template <>
struct Conversion<const char*> {
  static constexpr Oid oid = 0, array_oid = oids::kTextArray;
  static void to_text(const char* value, std::string& out) { out += value; }
  static bool is_null(const char* value) { return value == nullptr; }
  static const char* null() { return nullptr; }
};

template <>
struct Conversion<char*> {
  static constexpr Oid oid = 0, array_oid = oids::kTextArray;
  static void to_text(const char* value, std::string& out) { out += value; }
  static bool is_null(const char* value) { return value == nullptr; }
  static char* null() { return nullptr; }
};

template <>
struct Conversion<Bytes> {
  static constexpr Oid oid = oids::kBytea, array_oid = oids::kByteaArray;
  static Bytes from_text(std::string_view text);
  static void to_text(const Bytes& value, std::string& out);
};

template <>
struct Conversion<Uuid> {
  static constexpr Oid oid = oids::kUuid, array_oid = oids::kUuidArray;
  static Uuid from_text(std::string_view text) { return Uuid::parse(text); }
  static void to_text(const Uuid& value, std::string& out) { out += value.to_string(); }
};

// json or jsonb: sent untyped so it fits either column type.
template <>
struct Conversion<Json> {
  static constexpr Oid oid = 0, array_oid = 0;
  static Json from_text(std::string_view text) { return Json{std::string(text)}; }
  static void to_text(const Json& value, std::string& out) { out += value.text; }
};

template <>
struct Conversion<Date> {
  static constexpr Oid oid = oids::kDate, array_oid = oids::kDateArray;
  static Date from_text(std::string_view text);
  static void to_text(Date value, std::string& out);
};

template <>
struct Conversion<Timestamp> {
  static constexpr Oid oid = oids::kTimestamp, array_oid = oids::kTimestampArray;
  static Timestamp from_text(std::string_view text);
  static void to_text(Timestamp value, std::string& out);
};

template <>
struct Conversion<TimestampTz> {
  static constexpr Oid oid = oids::kTimestampTz, array_oid = oids::kTimestampTzArray;
  static TimestampTz from_text(std::string_view text);
  static void to_text(TimestampTz value, std::string& out);
};

template <>
struct Conversion<TimeOfDay> {
  static constexpr Oid oid = oids::kTime, array_oid = oids::kTimeArray;
  static TimeOfDay from_text(std::string_view text);
  static void to_text(TimeOfDay value, std::string& out);
};

template <>
struct Conversion<Interval> {
  static constexpr Oid oid = oids::kInterval, array_oid = oids::kIntervalArray;
  static Interval from_text(std::string_view text);
  static void to_text(const Interval& value, std::string& out);
};

// NULL.
template <class T>
struct Conversion<std::optional<T>> {
  static constexpr Oid oid = Conversion<T>::oid, array_oid = Conversion<T>::array_oid;
  static std::optional<T> from_text(std::string_view text) {
    return Conversion<T>::from_text(text);
  }
  static void to_text(const std::optional<T>& value, std::string& out) {
    Conversion<T>::to_text(*value, out);
  }
  static bool is_null(const std::optional<T>& value) { return !value.has_value(); }
  static std::optional<T> null() { return std::nullopt; }
};

template <>
struct Conversion<std::nullopt_t> {
  static constexpr Oid oid = 0, array_oid = 0;
  static void to_text(std::nullopt_t, std::string&) {}
  static bool is_null(std::nullopt_t) { return true; }
  static std::nullopt_t null() { return std::nullopt; }
};

template <>
struct Conversion<std::nullptr_t> {
  static constexpr Oid oid = 0, array_oid = 0;
  static void to_text(std::nullptr_t, std::string&) {}
  static bool is_null(std::nullptr_t) { return true; }
  static std::nullptr_t null() { return nullptr; }
};

// One-dimensional arrays. Elements that may be NULL need a nullable element type
// (std::vector<std::optional<T>>); reading a NULL element into std::vector<T> throws
// UnexpectedNull.
template <class T>
struct Conversion<std::vector<T>> {
  static constexpr Oid oid = Conversion<T>::array_oid, array_oid = 0;

  static std::vector<T> from_text(std::string_view text) requires FromText<T> {
    static_assert(!std::is_same_v<T, std::string_view>,
                  "array elements are unescaped copies: read them as std::string");
    std::vector<T> values;
    for (auto& element : detail::parse_array(text)) {
      if (element) {
        values.push_back(Conversion<T>::from_text(*element));
      } else if constexpr (Nullable<T>) {
        values.push_back(Conversion<T>::null());
      } else {
        throw UnexpectedNull("array contains NULL; read it as std::vector<std::optional<T>>");
      }
    }
    return values;
  }

  static void to_text(const std::vector<T>& values, std::string& out) {
    out += '{';
    std::string element;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      if constexpr (Nullable<T>) {
        if (Conversion<T>::is_null(values[i])) {
          out += "NULL";
          continue;
        }
      }
      element.clear();
      Conversion<T>::to_text(values[i], element);
      detail::append_array_element(element, out);
    }
    out += '}';
  }
};

// The type a parameter of type T is converted as: string literals become const char*.
template <class T>
using ParamType = std::decay_t<T>;

}  // namespace ouroboros
