// Exact NUMERIC: aggregates, huge values, NaN and infinities against a real server.
#include <doctest/doctest.h>

#include "test_database.hpp"

using namespace ouroboros;
using client_test::Table;

TEST_CASE("sum() and avg() over NUMERIC(38,10) come back exact") {
  Connection conn = client_test::connect();
  Table t(conn, "amounts", "amount numeric(38,10)");
  const std::vector<std::string> values = {
      "1234567890123456789012345678.0123456789", "0.0000000001",
      "-9999999999999999999999999999.9999999999", "0.1000000000",
      "8765432109876543210987654321.9876543211"};
  Decimal expected;
  for (const auto& v : values) {
    conn.execute("INSERT INTO " + t + " VALUES ($1)", Decimal(v));
    expected += Decimal(v);
  }
  Row row =
      conn.query(
              "SELECT sum(amount) AS total, avg(amount) AS mean, avg(amount)::text AS mean_text, "
              "count(*) AS n FROM " +
              t)
          .one();
  const Decimal total = row.get<Decimal>("total");
  CHECK(total == expected);
  CHECK(total.to_string() == expected.to_string());
  CHECK(total.scale() == 10);
  CHECK(row.get<Decimal>("mean").to_string() == row.get<std::string>("mean_text"));
  const Decimal error = row.get<Decimal>("mean") * Decimal(5) - total;
  CHECK(error < Decimal("0.000000001"));
  CHECK(error > Decimal("-0.000000001"));
  // The original bug: a DECIMAL aggregate read as double loses digits; Decimal does not.
  CHECK(static_cast<double>(total) != 0.0);
}

TEST_CASE("values with 50+ digits and 1000-digit precision are exact") {
  Connection conn = client_test::connect();
  Table t(conn, "big", "v numeric");
  const std::string fifty = "12345678901234567890123456789012345678901234567890.123456789";
  conn.execute("INSERT INTO " + t + " VALUES ($1), ($1), ($2)", Decimal(fifty),
               Decimal("-0.000000001"));
  const Decimal sum = conn.query_value<Decimal>("SELECT sum(v) FROM " + t);
  CHECK(sum == Decimal(fifty) + Decimal(fifty) + Decimal("-0.000000001"));
  CHECK(sum.to_string() == "24691357802469135780246913578024691357802469135780.246913577");

  const std::string thousand = std::string(1000, '9');
  CHECK(conn.query_value<Decimal>("SELECT $1::numeric(1000,0)", Decimal(thousand)).to_string() ==
        thousand);
  const std::string scaled = "0." + std::string(999, '0') + "1";
  CHECK(conn.query_value<Decimal>("SELECT $1::numeric", Decimal(scaled)).to_string() == scaled);
  CHECK(conn.query_value<Decimal>("SELECT 1.500::numeric(10,3)").to_string() == "1.500");
}

TEST_CASE("NaN and Infinity round-trip") {
  Connection conn = client_test::connect();
  for (const Decimal& v : {Decimal::nan(), Decimal::infinity(), Decimal::negative_infinity()}) {
    CAPTURE(v.to_string());
    Row row = conn.query("SELECT $1::numeric AS v, $1::numeric::text AS t", v).one();
    CHECK(row.get<Decimal>("v").kind() == v.kind());
    CHECK(row.get<std::string>("t") == v.to_string());
  }
  CHECK(conn.query_value<Decimal>("SELECT 'NaN'::numeric").is_nan());
  CHECK(conn.query_value<Decimal>("SELECT '-Infinity'::numeric") == Decimal::negative_infinity());
  CHECK(conn.query_value<bool>("SELECT 'NaN'::numeric > 'Infinity'::numeric"));
  CHECK(Decimal::nan() > Decimal::infinity());  // same order as the server
}
