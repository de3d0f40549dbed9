#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "ouroboros/convert.hpp"
#include "ouroboros/params.hpp"

using namespace ouroboros;

namespace {
template <class T>
std::string text_of(const T& value) {
  std::string out;
  Conversion<T>::to_text(value, out);
  return out;
}
}  // namespace

TEST_CASE("integers convert at their limits and reject garbage") {
  CHECK(Conversion<std::int16_t>::from_text("-32768") == -32768);
  CHECK(Conversion<std::int64_t>::from_text("9223372036854775807") ==
        std::numeric_limits<std::int64_t>::max());
  CHECK(text_of(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
  CHECK_THROWS_AS(Conversion<std::int16_t>::from_text("32768"), ConversionError);
  CHECK_THROWS_AS(Conversion<int>::from_text("12a"), ConversionError);
  CHECK_THROWS_AS(Conversion<int>::from_text(""), ConversionError);
  CHECK_THROWS_AS(Conversion<int>::from_text("1.5"), ConversionError);
  CHECK(Conversion<std::int16_t>::oid == oids::kInt2);
  CHECK(Conversion<int>::oid == oids::kInt4);
  CHECK(Conversion<long long>::oid == oids::kInt8);
  CHECK(Conversion<std::uint32_t>::oid == oids::kInt8);
  CHECK(Conversion<std::uint64_t>::oid == oids::kNumeric);
}

TEST_CASE("floating point is exact both ways, with NaN and infinities") {
  for (double v : {0.1, -1e-300, 1.7976931348623157e308, 5e-324, 123456.789, -0.0}) {
    CAPTURE(v);
    CHECK(Conversion<double>::from_text(text_of(v)) == v);
  }
  CHECK(Conversion<float>::from_text(text_of(3.4028235e38f)) == 3.4028235e38f);
  CHECK(text_of(std::numeric_limits<double>::infinity()) == "Infinity");
  CHECK(text_of(-std::numeric_limits<double>::infinity()) == "-Infinity");
  CHECK(text_of(std::nan("")) == "NaN");
  CHECK(std::isnan(Conversion<double>::from_text("NaN")));
  CHECK(Conversion<double>::from_text("-Infinity") == -INFINITY);
  CHECK(Conversion<float>::from_text("Infinity") == INFINITY);
  CHECK_THROWS_AS(Conversion<double>::from_text("1.0x"), ConversionError);
}

TEST_CASE("bool") {
  CHECK(Conversion<bool>::from_text("t"));
  CHECK_FALSE(Conversion<bool>::from_text("f"));
  CHECK(text_of(true) == "true");
  CHECK_THROWS_AS(Conversion<bool>::from_text("yes please"), ConversionError);
}

TEST_CASE("bytea in hex and escape formats") {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::byte>(i));
  CHECK(Conversion<Bytes>::from_text(text_of(all)) == all);
  CHECK(text_of(Bytes{std::byte{0xde}, std::byte{0xad}}) == "\\xdead");
  CHECK(text_of(Bytes{}) == "\\x");
  CHECK(Conversion<Bytes>::from_text("\\x").empty());
  CHECK(Conversion<Bytes>::from_text("a\\\\b\\000") ==
        Bytes{std::byte{'a'}, std::byte{'\\'}, std::byte{'b'}, std::byte{0}});
  CHECK_THROWS_AS(Conversion<Bytes>::from_text("\\xabc"), ConversionError);
  CHECK_THROWS_AS(Conversion<Bytes>::from_text("\\xzz"), ConversionError);
}

TEST_CASE("uuid") {
  Uuid u = Uuid::parse("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
  CHECK(u.to_string() == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  CHECK(Uuid::parse("{a0eebc999c0b4ef8bb6d6bb9bd380a11}") == u);
  CHECK_THROWS_AS(Uuid::parse("a0eebc99-9c0b"), ConversionError);
  CHECK_THROWS_AS(Uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11ff"), ConversionError);
}

TEST_CASE("arrays: parsing the server's literals") {
  using Strings = std::vector<std::optional<std::string>>;
  CHECK(Conversion<Strings>::from_text("{}").empty());
  CHECK(Conversion<Strings>::from_text(R"({a,"b c",NULL,"NULL","x\"y","back\\slash","",",{}"})") ==
        Strings{"a", "b c", std::nullopt, "NULL", "x\"y", "back\\slash", "", ",{}"});
  CHECK(Conversion<std::vector<int>>::from_text("[0:2]={1,2,3}") == std::vector<int>{1, 2, 3});
  CHECK(Conversion<std::vector<std::optional<int>>>::from_text("{1,NULL}") ==
        std::vector<std::optional<int>>{1, std::nullopt});
  CHECK_THROWS_AS(Conversion<std::vector<int>>::from_text("{1,NULL}"), UnexpectedNull);
  CHECK_THROWS_AS(Conversion<std::vector<int>>::from_text("{{1,2},{3,4}}"), ConversionError);
  CHECK_THROWS_AS(Conversion<std::vector<int>>::from_text("{1,2"), ConversionError);
  CHECK_THROWS_AS(Conversion<std::vector<int>>::from_text("{1,,2}"), ConversionError);
}

TEST_CASE("arrays: quoting parameters") {
  CHECK(text_of(std::vector<int>{}) == "{}");
  CHECK(text_of(std::vector<int>{1, -2}) == R"({"1","-2"})");
  CHECK(text_of(std::vector<std::optional<std::string>>{"a\"b", std::nullopt, "c\\d", "NULL"}) ==
        R"({"a\"b",NULL,"c\\d","NULL"})");
  CHECK(Conversion<std::vector<int>>::oid == oids::kInt4Array);
  CHECK(Conversion<std::vector<std::string>>::oid == oids::kTextArray);
}

TEST_CASE("Params: NULLs, types and string literals") {
  std::optional<int> none;
  Params p(1, "two", std::string("three"), none, nullptr, Decimal("4.50"),
           std::optional<double>(2.5));
  REQUIRE(p.size() == 7);
  const char* const* values = p.values();
  CHECK(std::string(values[0]) == "1");
  CHECK(std::string(values[1]) == "two");
  CHECK(std::string(values[2]) == "three");
  CHECK(values[3] == nullptr);
  CHECK(values[4] == nullptr);
  CHECK(std::string(values[5]) == "4.50");
  CHECK(std::string(values[6]) == "2.5");
  CHECK(p.types()[0] == oids::kInt4);
  CHECK(p.types()[1] == 0);
  CHECK(p.types()[3] == oids::kInt4);
  CHECK(p.types()[5] == oids::kNumeric);
  CHECK(p.type_signature() == "23,0,0,23,0,1700,701,");
}
