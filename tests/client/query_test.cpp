// query() / execute(): rows, RETURNING, affected-row counts, struct mapping against a real server.
#include <doctest/doctest.h>

#include "test_database.hpp"

using namespace ouroboros;
using client_test::Table;

namespace shop {
struct Item {
  std::int64_t id = 0;
  std::string name;
  Decimal price;
  std::optional<std::string> note;
};
OUROBOROS_FIELDS(Item, id, name, price, note)
}  // namespace shop

TEST_CASE("INSERT ... RETURNING returns the inserted rows, UPDATE returns the count") {
  Connection conn = client_test::connect();
  Table items(conn, "items",
              "id bigserial PRIMARY KEY, name text NOT NULL, price numeric(12,2), note text");

  CommandResult inserted =
      conn.execute("INSERT INTO " + items +
                       " (name, price, note) VALUES ($1, $2, NULL), ($3, $4, $5) "
                       "RETURNING id, name, price, note",
                   "apple", Decimal("1.20"), "pear", Decimal("0.99"), "ripe");
  REQUIRE(inserted.has_rows());
  CHECK(inserted.affected_rows() == 2);
  const Result& rows = inserted.rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows.columns() == 4);
  CHECK(rows[0].get<std::string>("name") == "apple");
  CHECK(rows[0].get<Decimal>("price").to_string() == "1.20");
  CHECK(rows[0].get<std::optional<std::string>>("note") == std::nullopt);
  CHECK(rows[1].get<std::string>("name") == "pear");
  CHECK(rows[1].get<std::string>("note") == "ripe");
  CHECK(rows[1].get<std::int64_t>("id") == rows[0].get<std::int64_t>("id") + 1);

  std::vector<shop::Item> mapped = rows.all<shop::Item>();
  CHECK(mapped[1].price == Decimal("0.99"));
  CHECK(mapped[1].note == "ripe");

  CommandResult updated = conn.execute("UPDATE " + items + " SET price = price * 2");
  CHECK_FALSE(updated.has_rows());
  CHECK(updated.affected_rows() == 2);
  CHECK(updated.command_tag() == "UPDATE 2");
  CHECK_THROWS_AS(updated.rows(), UsageError);

  CommandResult none = conn.execute("DELETE FROM " + items + " WHERE name = $1", "plum");
  CHECK(none.affected_rows() == 0);
  CHECK_FALSE(none.has_rows());

  CommandResult deleted =
      conn.execute("DELETE FROM " + items + " WHERE name = $1 RETURNING price", "apple");
  CHECK(deleted.affected_rows() == 1);
  CHECK(deleted.rows().one().get<Decimal>(0) == Decimal("2.40"));

  CHECK_THROWS_AS(conn.query("UPDATE " + items + " SET note = 'x' WHERE false"), UsageError);
}

TEST_CASE("query() rows: iteration, tuples and structs") {
  Connection conn = client_test::connect();
  Result r = conn.query(
      "SELECT g AS id, 'item ' || g AS name, (g * 1.5)::numeric(6,2) AS price, "
      "CASE WHEN g % 2 = 0 THEN 'even' END AS note FROM generate_series(1, 4) g");
  CHECK(r.size() == 4);
  int count = 0;
  for (const Row& row : r) count += row.get<int>("id");
  CHECK(count == 10);
  for (auto [id, name, price, note] :
       r.as<int, std::string, Decimal, std::optional<std::string>>()) {
    CHECK(name == "item " + std::to_string(id));
    CHECK(price == Decimal(id) * Decimal("1.5"));
    CHECK(note.has_value() == (id % 2 == 0));
  }
  std::vector<shop::Item> items = r.all<shop::Item>();
  CHECK(items[3].name == "item 4");
  CHECK(items[3].price.to_string() == "6.00");
  CHECK(conn.query_value<int>("SELECT $1::int + $2::int", 2, 3) == 5);
  CHECK(conn.query_value<std::string>("SELECT $1", "untyped text") == "untyped text");
  CHECK(conn.query("SELECT 1 WHERE false").empty());
  try {
    (void)conn.query("SELECT NULL::int AS missing").one().get<int>("missing");
    FAIL("expected UnexpectedNull");
  } catch (const UnexpectedNull& e) {
    CHECK(std::string(e.what()).find("missing") != std::string::npos);
  }
}

TEST_CASE("execute_script runs several statements") {
  Connection conn = client_test::connect();
  Table t(conn, "script", "n int");
  conn.execute_script("INSERT INTO " + t + " VALUES (1); INSERT INTO " + t + " VALUES (2);");
  CHECK(conn.query_value<long>("SELECT sum(n) FROM " + t) == 3);
}
