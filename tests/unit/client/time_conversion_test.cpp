#include <doctest/doctest.h>

#include "ouroboros/convert.hpp"

using namespace ouroboros;
using namespace std::chrono;

namespace {
template <class T>
std::string text_of(const T& value) {
  std::string out;
  Conversion<T>::to_text(value, out);
  return out;
}
}  // namespace

TEST_CASE("date: ISO text, BC, far future and infinity") {
  CHECK(Conversion<Date>::from_text("1970-01-01") == Date{});
  CHECK(Conversion<Date>::from_text("2024-02-29") == sys_days{year{2024} / February / 29});
  CHECK(text_of(Date{sys_days{year{2000} / January / 1}}) == "2000-01-01");
  CHECK(Conversion<Date>::from_text("0001-01-01 BC") == sys_days{year{0} / January / 1});
  CHECK(text_of(sys_days{year{-4712} / January / 1}) == "4713-01-01 BC");
  const Date far = Conversion<Date>::from_text("5874897-12-31");
  CHECK(text_of(far) == "5874897-12-31");
  CHECK(Conversion<Date>::from_text("infinity") == Date::max());
  CHECK(Conversion<Date>::from_text("-infinity") == Date::min());
  CHECK(text_of(Date::max()) == "infinity");
  CHECK(text_of(Date::min()) == "-infinity");
  CHECK_THROWS_AS(Conversion<Date>::from_text("2023-02-29"), ConversionError);
  CHECK_THROWS_AS(Conversion<Date>::from_text("2023-13-01"), ConversionError);
  CHECK_THROWS_AS(Conversion<Date>::from_text("01/02/2023"), ConversionError);
}

TEST_CASE("timestamp without time zone is a local wall-clock reading") {
  const Timestamp t = Conversion<Timestamp>::from_text("2024-03-10 12:34:56.789012");
  CHECK(t == local_days{year{2024} / March / 10} + 12h + 34min + 56s + 789012us);
  CHECK(text_of(t) == "2024-03-10 12:34:56.789012");
  CHECK(Conversion<Timestamp>::from_text("1999-12-31 23:59:59.999999") ==
        local_days{year{2000} / January / 1} - 1us);
  CHECK_THROWS_AS(Conversion<Timestamp>::from_text("1999-12-31 24:00:00"), ConversionError);
  CHECK(text_of(Timestamp{local_days{year{1969} / December / 31} + 23h + 59min + 59s + 500ms}) ==
        "1969-12-31 23:59:59.500000");
  CHECK(Conversion<Timestamp>::from_text("0044-03-15 12:00:00 BC") ==
        local_days{year{-43} / March / 15} + 12h);
  CHECK(Conversion<Timestamp>::from_text("infinity") == Timestamp::max());
  CHECK_THROWS_AS(Conversion<Timestamp>::from_text("2024-03-10 12:34:56+02"), ConversionError);
  CHECK_THROWS_AS(Conversion<Timestamp>::from_text("294276-12-31 23:59:59.999999"),
                  ConversionError);
}

TEST_CASE("timestamptz applies any UTC offset, to the second") {
  const TimestampTz utc = sys_days{year{2024} / March / 10} + 7h + 4min + 56s;
  CHECK(Conversion<TimestampTz>::from_text("2024-03-10 07:04:56+00") == utc);
  CHECK(Conversion<TimestampTz>::from_text("2024-03-10 12:34:56+05:30") == utc);
  CHECK(Conversion<TimestampTz>::from_text("2024-03-10 03:34:56-03:30") == utc);
  CHECK(Conversion<TimestampTz>::from_text("2024-03-10 19:49:56+12:45") == utc);
  CHECK(Conversion<TimestampTz>::from_text("1850-01-01 00:19:32+00:19:32") ==
        sys_days{year{1850} / January / 1});
  CHECK(text_of(utc) == "2024-03-10 07:04:56+00");
  CHECK(text_of(TimestampTz::min()) == "-infinity");
  CHECK_THROWS_AS(Conversion<TimestampTz>::from_text("2024-03-10 07:04:56"), ConversionError);
}

TEST_CASE("time of day") {
  CHECK(Conversion<TimeOfDay>::from_text("00:00:00").since_midnight == 0us);
  CHECK(Conversion<TimeOfDay>::from_text("23:59:59.999999").since_midnight == 24h - 1us);
  CHECK(Conversion<TimeOfDay>::from_text("24:00:00").since_midnight == 24h);
  CHECK(text_of(TimeOfDay{13h + 5min + 7s + 10us}) == "13:05:07.000010");
  CHECK_THROWS_AS(Conversion<TimeOfDay>::from_text("24:00:01"), ConversionError);
  CHECK_THROWS_AS(text_of(TimeOfDay{-1us}), ConversionError);
}

TEST_CASE("interval keeps months, days and time apart") {
  CHECK(Conversion<Interval>::from_text("1 year 2 mons 3 days 04:05:06.789") ==
        Interval{14, 3, 4h + 5min + 6s + 789ms});
  CHECK(Conversion<Interval>::from_text("-1 years -2 mons +3 days -04:05:06") ==
        Interval{-14, 3, -(4h + 5min + 6s)});
  CHECK(Conversion<Interval>::from_text("00:00:00") == Interval{});
  CHECK(Conversion<Interval>::from_text("1 day") == Interval{0, 1, 0us});
  CHECK(Conversion<Interval>::from_text("2562047788:00:54.775807") ==
        Interval{0, 0, microseconds::max()});
  CHECK(Conversion<Interval>::from_text("-2562047788:00:54.775808") ==
        Interval{0, 0, microseconds::min()});
  CHECK(text_of(Interval{14, -3, -(4h + 5min + 6s + 7us)}) == "14 mons -3 days -4:05:06.000007");
  CHECK(text_of(Interval{0, 0, microseconds::min()}) == "0 mons 0 days -2562047788:00:54.775808");
  CHECK_THROWS_AS(Conversion<Interval>::from_text("P1Y2M"), ConversionError);
}

// Found by fuzz_client_values: the amounts are summed in int64 before the int32 range check, and
// those sums used to overflow (undefined behaviour) instead of failing the conversion.
TEST_CASE("interval amounts beyond int64 fail with 'interval out of range'") {
  auto message_of = [](std::string_view text) -> std::string {
    try {
      (void)Conversion<Interval>::from_text(text);
    } catch (const ConversionError& e) {
      return e.what();
    }
    return "accepted";
  };
  CHECK(message_of("1000000520500530000 years").starts_with("interval out of range"));
  CHECK(message_of("-9223372036854775808 years").starts_with("interval out of range"));
  CHECK(message_of("9223372036854775807 mons 1 mons").starts_with("interval out of range"));
  CHECK(message_of("-9223372036854775808 mons -1 mons").starts_with("interval out of range"));
  CHECK(message_of("9223372036854775807 days 1 day").starts_with("interval out of range"));
  CHECK(message_of("-9223372036854775808 days -1 days").starts_with("interval out of range"));
  CHECK(message_of("178956971 years").starts_with("interval out of range"));  // > 2^31 - 1 months
  // Sums that wrapped around 2^64 into range used to be accepted as wrong values (8 mons, 0 days).
  CHECK(message_of("1537228672809129302 years").starts_with("interval out of range"));
  CHECK(message_of("9223372036854775807 days 9223372036854775807 days 2 days")
            .starts_with("interval out of range"));
  // Sums that come back into range are still exact.
  CHECK(Conversion<Interval>::from_text("178956971 years -8 mons") == Interval{2147483644, 0, 0us});
  CHECK(Conversion<Interval>::from_text("9223372036854775807 days -9223372036854775800 days") ==
        Interval{0, 7, 0us});
}
