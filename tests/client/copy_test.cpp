// COPY: a million typed rows in and out, raw text and CSV chunks, NULLs and special characters,
// a COPY failing half-way in both directions, hooks, misuse, autocommit and abandoned COPYs.
// Everything runs directly and through the proxy in both modes.
#include <doctest/doctest.h>

#include <charconv>

#include "observer_recorder.hpp"
#include "test_database.hpp"

using namespace ouroboros;
using client_test::Recorder;

namespace {

constexpr std::int64_t kMillion = 1'000'000;

// The first field of a COPY text row as an integer.
std::int64_t first_field(std::string_view row) {
  std::int64_t value = 0;
  std::from_chars(row.data(), row.data() + row.size(), value);
  return value;
}

}  // namespace

TEST_SUITE("transaction_mode") {
  TEST_CASE("COPY a million typed rows in and out") {
    auto recorder = std::make_shared<Recorder>();
    ConnectOptions options;
    options.observers.push_back(recorder);
    Connection conn = client_test::connect(options);
    client_test::Table table(conn, "copy_million", "id bigint, name text, amount numeric");
    recorder->clear();
    {
      Transaction tx = conn.begin();
      CopyWriter copy = conn.copy_from(table.name(), {"id", "name", "amount"});
      for (std::int64_t i = 1; i <= kMillion; ++i)
        copy.write_row(i, i % 2 ? "odd" : "even", Decimal(std::to_string(i) + ".5"));
      CHECK(copy.finish() == kMillion);
      tx.commit();
    }
    CHECK(conn.query_value<std::int64_t>("SELECT count(*) FROM " + table) == kMillion);
    CHECK(conn.query_value<Decimal>("SELECT sum(amount) FROM " + table) ==
          Decimal("500000500000") + Decimal("500000"));

    std::int64_t rows = 0, sum = 0;
    const std::int64_t copied =
        conn.copy_to("COPY " + table + " (id) TO STDOUT", [&](std::string_view row) {
          ++rows;
          sum += first_field(row);
        });
    CHECK(copied == kMillion);
    CHECK(rows == kMillion);
    CHECK(sum == kMillion * (kMillion + 1) / 2);

    const auto ends = recorder->ends();
    std::vector<client_test::SeenEvent> copies;
    for (const auto& e : ends)
      if (e.kind == StatementKind::Copy) copies.push_back(e);
    REQUIRE(copies.size() == 2);
    CHECK(copies[0].sql ==
          "COPY \"" + table.name() + "\" (\"id\", \"name\", \"amount\") FROM STDIN (FORMAT text)");
    CHECK(copies[0].rows == kMillion);
    CHECK(copies[0].transaction == TransactionStatus::InTransaction);
    CHECK(copies[1].rows == kMillion);
    CHECK(recorder->starts().size() == ends.size());
  }

  TEST_CASE("COPY round-trips NULLs and special characters, in text and CSV") {
    Connection conn = client_test::connect();
    client_test::Table table(conn, "copy_special", "id int, note text, tags text[]");
    const std::string tricky = "tab\there, newline\nhere, backslash\\here, \"quoted\", comma,";
    Transaction tx = conn.begin();
    {
      CopyWriter copy = conn.copy_from(table.name());
      copy.write_row(1, tricky, std::vector<std::string>{"a b", "c\"d"});
      copy.write_row(2, std::optional<std::string>{}, std::nullopt);
      CHECK(copy.finish() == 2);
    }
    {
      CopyWriter copy = conn.copy_from(table.name(), {"id", "note"}, CopyFormat::Csv);
      copy.write_row(3, tricky);
      copy.write_row(4, nullptr);
      copy.write_row(5, "");
      copy.write_raw("6,\"raw \"\"csv\"\" ");
      copy.write_raw("chunk\"\n");  // a row may span chunks
      CHECK(copy.finish() == 4);
    }
    {
      CopyWriter copy =
          conn.copy_from_sql("COPY " + table + " (id, note) FROM STDIN (DELIMITER '|')");
      copy.write_raw("7|pipe\n8|\\N\n");
      CHECK(copy.finish() == 2);
    }
    auto rows = conn.query("SELECT id, note, tags FROM " + table + " ORDER BY id")
                    .as<int, std::optional<std::string>, std::optional<std::vector<std::string>>>();
    std::vector<
        std::tuple<int, std::optional<std::string>, std::optional<std::vector<std::string>>>>
        got(rows.begin(), rows.end());
    REQUIRE(got.size() == 8);
    CHECK(std::get<1>(got[0]) == tricky);
    CHECK(std::get<2>(got[0]) == std::vector<std::string>{"a b", "c\"d"});
    CHECK_FALSE(std::get<1>(got[1]).has_value());
    CHECK_FALSE(std::get<2>(got[1]).has_value());
    CHECK(std::get<1>(got[2]) == tricky);
    CHECK_FALSE(std::get<1>(got[3]).has_value());  // CSV: unquoted empty is NULL
    CHECK(std::get<1>(got[4]) == "");              // CSV: quoted empty is ""
    CHECK(std::get<1>(got[5]) == "raw \"csv\" chunk");
    CHECK(std::get<1>(got[6]) == "pipe");
    CHECK_FALSE(std::get<1>(got[7]).has_value());

    std::vector<std::string> csv;
    conn.copy_to("COPY (SELECT id, note FROM " + table +
                     " WHERE id IN (3, 4) ORDER BY id) TO STDOUT (FORMAT csv)",
                 [&](std::string_view row) { csv.emplace_back(row); });
    CHECK(csv ==
          std::vector<std::string>{
              "3,\"tab\there, newline\nhere, backslash\\here, \"\"quoted\"\", comma,\"\n", "4,\n"});
    tx.commit();
  }

  TEST_CASE("a COPY FROM that fails half-way stores nothing and is classified") {
    auto recorder = std::make_shared<Recorder>();
    ConnectOptions options;
    options.observers.push_back(recorder);
    Connection conn = client_test::connect(options);
    client_test::Table table(conn, "copy_fail_in", "id int NOT NULL");
    {
      Transaction tx = conn.begin();
      CopyWriter copy = conn.copy_from(table.name());
      for (int i = 1; i <= kMillion; ++i) {
        if (i == kMillion / 2)
          copy.write_raw("not a number\n");
        else
          copy.write_row(i);
      }
      try {
        copy.finish();
        FAIL("finish() should have thrown");
      } catch (const DataError& error) {
        CHECK(error.sqlstate() == "22P02");
        CHECK(error.message().find("not a number") != std::string::npos);
      }
      CHECK_FALSE(copy.is_open());
      CHECK_THROWS_AS(copy.finish(), UsageError);
    }  // rolled back
    CHECK(conn.query_value<std::int64_t>("SELECT count(*) FROM " + table) == 0);
    std::vector<client_test::SeenEvent> copies;
    for (const auto& e : recorder->ends())
      if (e.kind == StatementKind::Copy) copies.push_back(e);
    REQUIRE(copies.size() == 1);
    CHECK(copies[0].failed);
    CHECK(copies[0].sqlstate == "22P02");
    CHECK(copies[0].error_class == "DataError");
  }

  TEST_CASE("a COPY TO that fails half-way delivers the rows before the error, then throws") {
    Connection conn = client_test::connect();
    std::int64_t rows = 0;
    CHECK_THROWS_AS(conn.copy_to("COPY (SELECT CASE WHEN i = 500000 THEN i / (i - i) ELSE i END "
                                 "FROM generate_series(1, 1000000) i) TO STDOUT",
                                 [&](std::string_view) { ++rows; }),
                    DataError);
    CHECK(rows == 499999);
    CHECK(conn.query_value<int>("SELECT 1") == 1);  // the connection is ready again

    // A callback that throws cancels the COPY; the exception reaches the caller.
    struct Enough : std::runtime_error {
      using std::runtime_error::runtime_error;
    };
    rows = 0;
    CHECK_THROWS_AS(conn.copy_to("COPY (SELECT i FROM generate_series(1, 1000000) i) TO STDOUT",
                                 [&](std::string_view) {
                                   if (++rows == 10) throw Enough("enough");
                                 }),
                    Enough);
    CHECK(rows == 10);
    CHECK(conn.query_value<int>("SELECT 2") == 2);
  }

  TEST_CASE("COPY misuse is a UsageError; server errors at the start are classified") {
    Connection conn = client_test::connect();
    client_test::Table table(conn, "copy_misuse", "id int");
    Transaction tx = conn.begin();
    CHECK_THROWS_AS(conn.copy_from("no_such_table_for_copy"), UndefinedTable);
    tx.rollback();
    CHECK_THROWS_AS(conn.copy_from_sql("SELECT 1"), UsageError);
    CHECK_THROWS_AS(conn.copy_to("SELECT 1", [](std::string_view) {}), UsageError);
    CHECK_THROWS_AS(conn.copy_to("COPY " + table + " FROM STDIN", [](std::string_view) {}),
                    UsageError);
    CHECK(conn.query_value<int>("SELECT 3") == 3);
    Transaction tx2 = conn.begin();
    {
      CopyWriter copy = conn.copy_from(table.name());
      copy.write_row(1);
      CHECK_THROWS_AS(conn.query("SELECT 1"), UsageError);  // busy with the COPY
      copy.abort();
      CHECK_THROWS_AS(copy.write_row(2), UsageError);
    }
    tx2.rollback();
    CHECK(conn.query_value<std::int64_t>("SELECT count(*) FROM " + table) == 0);
  }

  TEST_CASE("an autocommit COPY FROM, and one abandoned without finish()") {
    Connection conn = client_test::connect();
    client_test::Table table(conn, "copy_autocommit", "id int");
    {
      CopyWriter copy = conn.copy_from(table.name());
      for (int i = 0; i < 1000; ++i) copy.write_row(i);
      CHECK(copy.finish() == 1000);
    }
    {
      CopyWriter copy = conn.copy_from(table.name());
      copy.write_row(5000);
    }  // destroyed without finish(): aborted
    CHECK(conn.query_value<std::int64_t>("SELECT count(*) FROM " + table) == 1000);
    CHECK_FALSE(conn.in_transaction());
  }

}  // TEST_SUITE("transaction_mode")
