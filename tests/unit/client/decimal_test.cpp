#include "ouroboros/decimal.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "ouroboros/errors.hpp"

using ouroboros::ConversionError;
using ouroboros::Decimal;

TEST_CASE("Decimal round-trips text exactly and keeps the scale") {
  for (const char* text :
       {"0", "0.00", "1", "-1", "1.50", "-0.0001", "123456789012345678901234567890.1234567890",
        "0.000000000000000000000000000001", "99999999999999999999999999999999999999", "NaN",
        "Infinity", "-Infinity"}) {
    CAPTURE(text);
    CHECK(Decimal(text).to_string() == text);
  }
  CHECK(Decimal("1.50").scale() == 2);
  CHECK(Decimal("1.50").precision() == 3);
  CHECK(Decimal("000123.40").to_string() == "123.40");
  CHECK(Decimal("+7").to_string() == "7");
  CHECK(Decimal("-0.00").to_string() == "0.00");  // NUMERIC has no negative zero
  CHECK(Decimal(".5").to_string() == "0.5");
  CHECK(Decimal("5.").to_string() == "5");
}

TEST_CASE("Decimal holds 1000 significant digits and more") {
  std::string digits(1000, '7');
  std::string text = digits + "." + std::string(500, '3');
  Decimal d(text);
  CHECK(d.to_string() == text);
  CHECK(d.precision() == 1500);
  CHECK(d.scale() == 500);
  CHECK(Decimal("-" + text).to_string() == "-" + text);
}

TEST_CASE("Decimal parses exponents and special values in any case") {
  CHECK(Decimal("1.5e3").to_string() == "1500");
  CHECK(Decimal("1.5E-3").to_string() == "0.0015");
  CHECK(Decimal("-2e+2").to_string() == "-200");
  CHECK(Decimal("nan").is_nan());
  CHECK(Decimal("inf").kind() == Decimal::Kind::PositiveInfinity);
  CHECK(Decimal("-INFINITY").kind() == Decimal::Kind::NegativeInfinity);
  CHECK(Decimal("+Infinity").is_infinite());
  CHECK(Decimal(" 12.5 ").to_string() == "12.5");
}

TEST_CASE("Decimal rejects malformed text with ConversionError") {
  for (const char* text :
       {"", "-", ".", "abc", "1.2.3", "1e", "1e5x", "--1", "1,5", "0x10", "1e99999999"}) {
    CAPTURE(text);
    CHECK_THROWS_AS((void)Decimal(text), ConversionError);
  }
}

TEST_CASE("Decimal compares by value, NaN above everything as in PostgreSQL") {
  CHECK(Decimal("1.50") == Decimal("1.5"));
  CHECK(Decimal("1500") == Decimal("1.5e3"));
  CHECK(Decimal("0.00") == Decimal("0"));
  CHECK(Decimal("-1.01") < Decimal("-1"));
  CHECK(Decimal("0.001") < Decimal("0.01"));
  CHECK(Decimal("10") > Decimal("9.99999"));
  CHECK(Decimal("-10") < Decimal("-9.99999"));
  CHECK(Decimal("-0.5") < Decimal("0"));
  CHECK(Decimal("0") < Decimal("0.5"));
  CHECK(Decimal::negative_infinity() < Decimal("-1e1000"));
  CHECK(Decimal("1e1000") < Decimal::infinity());
  CHECK(Decimal::infinity() < Decimal::nan());
  CHECK(Decimal::nan() == Decimal::nan());
  CHECK(Decimal(42) == Decimal("42.000"));
  CHECK(Decimal(-7) < Decimal(3));
}

TEST_CASE("Decimal from integers is exact at the extremes") {
  CHECK(Decimal(std::numeric_limits<std::int64_t>::min()).to_string() == "-9223372036854775808");
  CHECK(Decimal(std::numeric_limits<std::uint64_t>::max()).to_string() == "18446744073709551615");
  CHECK(Decimal(0).to_string() == "0");
}

TEST_CASE("Decimal converts to double only explicitly") {
  static_assert(!std::is_convertible_v<Decimal, double>);
  CHECK(static_cast<double>(Decimal("1.25")) == 1.25);
  CHECK(Decimal("-0.1").to_double() == -0.1);
  CHECK(std::isnan(Decimal::nan().to_double()));
  CHECK(Decimal::negative_infinity().to_double() == -INFINITY);
  CHECK(Decimal("1e400").to_double() == INFINITY);
  CHECK(Decimal("1e-400").to_double() == 0.0);
  CHECK(Decimal("0.000").to_double() == 0.0);
}

TEST_CASE("Decimal arithmetic is exact") {
  CHECK((Decimal("0.1") + Decimal("0.2")).to_string() == "0.3");
  CHECK((Decimal("1.50") + Decimal("2.5")).to_string() == "4.00");
  CHECK((Decimal("999.99") + Decimal("0.01")).to_string() == "1000.00");
  CHECK((Decimal("1") - Decimal("1.001")).to_string() == "-0.001");
  CHECK((Decimal("-5") + Decimal("3")).to_string() == "-2");
  CHECK((Decimal("-5") - Decimal("-5")).to_string() == "0");
  CHECK((Decimal("1.5") * Decimal("-2.25")).to_string() == "-3.375");
  CHECK((Decimal("0.00") * Decimal("5")).to_string() == "0.00");
  std::string nines(60, '9');
  CHECK((Decimal(nines) + Decimal(1)).to_string() == "1" + std::string(60, '0'));
  CHECK((Decimal(nines) * Decimal(nines)).to_string() ==
        std::string(59, '9') + "8" + std::string(59, '0') + "1");
  CHECK((Decimal::infinity() + Decimal(1)).kind() == Decimal::Kind::PositiveInfinity);
  CHECK((Decimal::infinity() - Decimal::infinity()).is_nan());
  CHECK((Decimal::infinity() * Decimal(0)).is_nan());
  CHECK((Decimal::negative_infinity() * Decimal(-2)).kind() == Decimal::Kind::PositiveInfinity);
  CHECK((Decimal::nan() + Decimal(1)).is_nan());
  Decimal sum;
  for (int i = 0; i < 10; ++i) sum += Decimal("0.1");
  CHECK(sum == Decimal(1));
  CHECK(-Decimal("2.5") == Decimal("-2.5"));
}

TEST_CASE("Decimal multiplies long by short operands exactly") {
  // Each row of the long multiplication carries only through the digits it touched.
  const std::string sevens(3000, '7');
  const std::string product = (Decimal(sevens) * Decimal("98765432109876543210")).to_string();
  CHECK(product.size() == 3020);
  CHECK(product.starts_with("76817"));
  CHECK(product.ends_with("44170"));
  CHECK((Decimal("98765432109876543210") * Decimal(sevens)).to_string() == product);
  CHECK((Decimal(sevens) * Decimal(3)).to_string() == "2" + std::string(2999, '3') + "1");
}

TEST_CASE("Decimal products whose scale would pass INT_MAX throw ConversionError") {
  // 1e-1000000 has scale 1 000 000: 2147 products of it still fit in an int, 2148 do not.
  const Decimal tiny("1e-1000000");
  Decimal product = tiny;
  for (int i = 1; i < 2147; ++i) product *= tiny;
  CHECK(product.scale() == 2'147'000'000);
  CHECK(product.precision() == 1);
  CHECK_THROWS_AS(product * tiny, ConversionError);
  CHECK_THROWS_AS(Decimal("0e-1000000") * product, ConversionError);  // zeros keep their scale
}
