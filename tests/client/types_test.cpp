// Round trips of every supported type through a real server: parameters in, results out.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "test_database.hpp"

using namespace ouroboros;
using namespace std::chrono;

namespace {
template <class T>
T round_trip(Connection& conn, const T& value, const std::string& type) {
  return conn.query_value<T>("SELECT $1::" + type, value);
}

template <class T>
void check_round_trip(Connection& conn, const T& value, const std::string& type) {
  CAPTURE(type);
  CHECK(round_trip(conn, value, type) == value);
  CHECK(round_trip(conn, std::optional<T>(value), type) == value);
  CHECK(round_trip(conn, std::optional<T>(), type) == std::nullopt);  // NULL of this type
}
}  // namespace

TEST_CASE("bool and integers at their limits") {
  Connection conn = client_test::connect();
  check_round_trip(conn, true, "bool");
  check_round_trip(conn, false, "bool");
  check_round_trip(conn, std::numeric_limits<std::int16_t>::min(), "int2");
  check_round_trip(conn, std::numeric_limits<std::int16_t>::max(), "int2");
  check_round_trip(conn, std::numeric_limits<std::int32_t>::min(), "int4");
  check_round_trip(conn, std::numeric_limits<std::int32_t>::max(), "int4");
  check_round_trip(conn, std::numeric_limits<std::int64_t>::min(), "int8");
  check_round_trip(conn, std::numeric_limits<std::int64_t>::max(), "int8");
  check_round_trip(conn, std::numeric_limits<std::uint64_t>::max(), "numeric");
  CHECK_THROWS_AS(conn.query_value<std::int16_t>("SELECT 40000::int4"), ConversionError);
}

TEST_CASE("float and double: extremes, NaN, infinities") {
  Connection conn = client_test::connect();
  for (double v :
       {0.0, -0.0, 0.1, -1.5e-300, std::numeric_limits<double>::max(),
        std::numeric_limits<double>::lowest(), std::numeric_limits<double>::denorm_min(),
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()})
    check_round_trip(conn, v, "float8");
  for (float v : {0.1f, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                  -std::numeric_limits<float>::infinity()})
    check_round_trip(conn, v, "float4");
  CHECK(std::isnan(round_trip(conn, std::nan(""), "float8")));
  CHECK(std::isnan(round_trip(conn, std::nanf(""), "float4")));
}

TEST_CASE("text, varchar and string_view") {
  Connection conn = client_test::connect();
  for (std::string v :
       {std::string(), std::string("héllo ✓ 𝄞"), std::string("quote ' \" back \\ slash"),
        std::string("{braces},commas,NULL"), std::string(100000, 'x')})
    check_round_trip(conn, v, "text");
  check_round_trip(conn, std::string("short"), "varchar(10)");
  Result r = conn.query("SELECT 'view me'::text");
  CHECK(r.one().get<std::string_view>(0) == "view me");
  CHECK(conn.query_value<std::string>("SELECT $1::text", std::string_view("from a view")) ==
        "from a view");
}

TEST_CASE("bytea") {
  Connection conn = client_test::connect();
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
  check_round_trip(conn, all, "bytea");
  check_round_trip(conn, Bytes{}, "bytea");
  CHECK(conn.query_value<int>("SELECT length($1::bytea)", all) == 256);
}

TEST_CASE("date, including BC, the far future and infinity") {
  Connection conn = client_test::connect();
  check_round_trip(conn, Date{sys_days{year{2000} / February / 29}}, "date");
  check_round_trip(conn, Date{sys_days{year{-4712} / January / 1}}, "date");  // 4713 BC
  check_round_trip(conn, Conversion<Date>::from_text("5874897-12-31"), "date");
  check_round_trip(conn, Date::max(), "date");
  check_round_trip(conn, Date::min(), "date");
  CHECK(conn.query_value<Date>("SELECT 'infinity'::date") == Date::max());
  CHECK(conn.query_value<std::string>("SELECT $1::date::text",
                                      Date{sys_days{year{-43} / March / 15}}) == "0044-03-15 BC");
}

TEST_CASE("time of day") {
  Connection conn = client_test::connect();
  check_round_trip(conn, TimeOfDay{0us}, "time");
  check_round_trip(conn, TimeOfDay{24h - 1us}, "time");
  check_round_trip(conn, TimeOfDay{24h}, "time");
  check_round_trip(conn, TimeOfDay{13h + 7min + 1s + 250ms}, "time");
}

TEST_CASE("timestamp without time zone") {
  Connection conn = client_test::connect();
  check_round_trip(conn,
                   Timestamp{local_days{year{2024} / March / 10} + 12h + 34min + 56s + 789012us},
                   "timestamp");
  check_round_trip(conn, Timestamp{local_days{year{-4712} / January / 1}}, "timestamp");
  check_round_trip(conn, Conversion<Timestamp>::from_text("200000-06-30 23:59:59.999999"),
                   "timestamp");
  check_round_trip(conn, Timestamp::max(), "timestamp");
  check_round_trip(conn, Timestamp::min(), "timestamp");
  // Beyond what std::chrono microseconds since 1970 can hold: a clear error, not garbage.
  CHECK_THROWS_AS(conn.query_value<Timestamp>("SELECT '294276-12-31 23:59:59'::timestamp"),
                  ConversionError);
}

TEST_CASE("timestamptz is the same instant whatever the session time zone") {
  Connection conn = client_test::connect();
  const TimestampTz instant = sys_days{year{2024} / March / 10} + 7h + 4min + 56s + 123456us;
  const TimestampTz old = sys_days{year{1850} / January / 1} + 12h;
  for (const char* zone : {"UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham",
                           "America/Los_Angeles", "Europe/Amsterdam", "Asia/Kathmandu"}) {
    CAPTURE(zone);
    conn.query("SELECT set_config('TimeZone', $1, false)", zone);
    check_round_trip(conn, instant, "timestamptz");
    check_round_trip(conn, old, "timestamptz");  // local mean time offsets have seconds
    CHECK(conn.query_value<TimestampTz>("SELECT '2024-03-10 12:34:56.123456+05:30'::timestamptz") ==
          instant);
    CHECK(conn.query_value<bool>("SELECT $1::timestamptz = '2024-03-10 07:04:56.123456+00'",
                                 instant));
  }
  check_round_trip(conn, TimestampTz::max(), "timestamptz");
  check_round_trip(conn, TimestampTz::min(), "timestamptz");
  conn.query("SELECT set_config('TimeZone', 'UTC', false)");
}

TEST_CASE("interval keeps months and days") {
  Connection conn = client_test::connect();
  check_round_trip(conn, Interval{14, 3, 4h + 5min + 6s + 789us}, "interval");
  check_round_trip(conn, Interval{-14, 3, -(4h + 5min + 6s)}, "interval");
  check_round_trip(conn, Interval{}, "interval");
  check_round_trip(conn, Interval{1, -30, 0us}, "interval");
  check_round_trip(conn,
                   Interval{std::numeric_limits<std::int32_t>::max(),
                            std::numeric_limits<std::int32_t>::max(), microseconds::max()},
                   "interval");
  check_round_trip(
      conn,
      Interval{std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::min(),
               microseconds::min() + 1us},  // PostgreSQL 15 cannot read its own minimum
      "interval");
  CHECK(conn.query_value<Interval>("SELECT '1 year 2 months 3 days 04:05:06'::interval") ==
        Interval{14, 3, 4h + 5min + 6s});
}

TEST_CASE("uuid and json") {
  Connection conn = client_test::connect();
  const Uuid u = Uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  check_round_trip(conn, u, "uuid");
  CHECK(conn.query_value<std::string>("SELECT $1::uuid::text", u) == u.to_string());
  const Uuid random = conn.query_value<Uuid>("SELECT gen_random_uuid()");
  CHECK(round_trip(conn, random, "uuid") == random);

  const Json doc{R"({"a": [1, 2.5, {"b": null}], "s": "quote \" and ✓"})"};
  check_round_trip(conn, doc, "json");  // json keeps the text as written
  CHECK(conn.query_value<bool>("SELECT $1::jsonb = $2::jsonb", doc,
                               Json{conn.query_value<Json>("SELECT $1::jsonb", doc)}));
  CHECK(conn.query_value<Json>("SELECT '{\"b\":1,  \"a\":2}'::jsonb").text ==
        R"({"a": 2, "b": 1})");
}

TEST_CASE("one-dimensional arrays, empty and with NULLs") {
  Connection conn = client_test::connect();
  check_round_trip(conn, std::vector<int>{}, "int4[]");
  check_round_trip(conn, std::vector<int>{1, -2, 3}, "int4[]");
  check_round_trip(conn, std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min()},
                   "int8[]");
  check_round_trip(conn, std::vector<std::optional<int>>{1, std::nullopt, 3}, "int4[]");
  check_round_trip(conn,
                   std::vector<std::optional<std::string>>{"a", "", "NULL", std::nullopt, "x,y",
                                                           "{z}", "q\"b\\s", "✓ ü"},
                   "text[]");
  check_round_trip(conn, std::vector<std::string>{}, "text[]");
  check_round_trip(conn, std::vector<bool>{true, false}, "bool[]");
  check_round_trip(conn, std::vector<double>{1.5, -0.25, std::numeric_limits<double>::infinity()},
                   "float8[]");
  check_round_trip(conn, std::vector<Decimal>{Decimal("1.10"), Decimal::nan(), Decimal("-1e-20")},
                   "numeric[]");
  check_round_trip(conn, std::vector<Bytes>{Bytes{std::byte{0}, std::byte{0x5c}}, Bytes{}},
                   "bytea[]");
  check_round_trip(conn, std::vector<Date>{sys_days{year{2020} / 1 / 1}, Date::max()}, "date[]");
  check_round_trip(conn, std::vector<TimestampTz>{sys_days{year{2020} / 1 / 1} + 1h},
                   "timestamptz[]");
  check_round_trip(conn, std::vector<Timestamp>{local_days{year{1999} / 12 / 31} + 23h},
                   "timestamp[]");
  check_round_trip(conn, std::vector<TimeOfDay>{TimeOfDay{1s}}, "time[]");
  check_round_trip(conn, std::vector<Interval>{Interval{1, 2, 3s}, Interval{}}, "interval[]");
  check_round_trip(conn, std::vector<Uuid>{Uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
                   "uuid[]");
  check_round_trip(conn, std::vector<Json>{Json{"[1,2]"}, Json{"{\"a\": \"b,c\"}"}}, "json[]");
  CHECK(conn.query_value<std::vector<int>>("SELECT '[0:1]={5,6}'::int[]") ==
        std::vector<int>{5, 6});
  CHECK(
      conn.query_value<int>("SELECT count(*)::int FROM generate_series(1, 10) g WHERE g = ANY($1)",
                            std::vector<int>{2, 4, 99}) == 2);
  CHECK_THROWS_AS(conn.query_value<std::vector<int>>("SELECT ARRAY[1, NULL]"), UnexpectedNull);
}
