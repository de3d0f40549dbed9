// Result, Row and struct mapping over PGresults built in memory with libpq's own API.
#include "ouroboros/result.hpp"

#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <optional>
#include <string>
#include <vector>

using namespace ouroboros;

namespace app {
struct Account {
  std::int64_t id = 0;
  std::string owner;
  Decimal balance;
  std::optional<std::string> note;
};
OUROBOROS_FIELDS(Account, id, owner, balance, note)
}  // namespace app

namespace {
// Columns named `names`, rows of optional text values.
Result make_result(const std::vector<std::string>& names,
                   const std::vector<std::vector<std::optional<std::string>>>& rows) {
  PGresult* result = PQmakeEmptyPGresult(nullptr, PGRES_TUPLES_OK);
  std::vector<PGresAttDesc> attributes(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    attributes[i] = PGresAttDesc{};
    attributes[i].name = const_cast<char*>(names[i].c_str());
    attributes[i].typlen = -1;
  }
  PQsetResultAttrs(result, static_cast<int>(names.size()), attributes.data());
  for (std::size_t r = 0; r < rows.size(); ++r) {
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      const auto& value = rows[r][c];
      PQsetvalue(result, static_cast<int>(r), static_cast<int>(c),
                 value ? const_cast<char*>(value->c_str()) : nullptr,
                 value ? static_cast<int>(value->size()) : -1);
    }
  }
  return Result(std::make_shared<const detail::ResultData>(result));
}

Result accounts() {
  return make_result({"id", "owner", "balance", "note", "Extra"},
                     {{"1", "ann", "10.50", std::nullopt, "x"}, {"2", "bob", "-3", "vip", "y"}});
}
}  // namespace

TEST_CASE("typed access by index and by name") {
  Result r = accounts();
  REQUIRE(r.size() == 2);
  CHECK(r.columns() == 5);
  CHECK(r[0].get<int>(0) == 1);
  CHECK(r[1].get<std::string>("owner") == "bob");
  CHECK(r[0].get<Decimal>("balance").to_string() == "10.50");
  CHECK(r[0].get<std::optional<std::string>>("note") == std::nullopt);
  CHECK(r[1].get<std::optional<std::string>>("note") == "vip");
  CHECK(r[0].get<std::string_view>("Extra") == "x");  // names are case-sensitive, exact
  CHECK_THROWS_AS(r[0].get<std::string>("extra"), UsageError);
  CHECK_THROWS_AS(r[0].get<int>(9), UsageError);
  CHECK(r.find_column("missing") == std::nullopt);
}

TEST_CASE("NULL into a non-optional names the column") {
  Result r = accounts();
  try {
    (void)r[0].get<std::string>("note");
    FAIL("expected UnexpectedNull");
  } catch (const UnexpectedNull& e) {
    CHECK(std::string(e.what()).find("\"note\"") != std::string::npos);
  }
  try {
    (void)r[0].get<int>("owner");
    FAIL("expected ConversionError");
  } catch (const ConversionError& e) {
    CHECK(std::string(e.what()).find("\"owner\"") != std::string::npos);
    CHECK(std::string(e.what()).find("ann") != std::string::npos);
  }
}

TEST_CASE("tuples and structured bindings") {
  Result r = make_result({"a", "b"}, {{"1", "one"}, {"2", std::nullopt}});
  std::vector<std::string> seen;
  for (auto [number, name] : r.as<int, std::optional<std::string>>())
    seen.push_back(std::to_string(number) + ":" + name.value_or("NULL"));
  CHECK(seen == std::vector<std::string>{"1:one", "2:NULL"});
  auto [a, b] = r[0].as<long, std::string>();
  CHECK(a == 1);
  CHECK(b == "one");
  CHECK_THROWS_AS((r[0].as<int, int, int>()), UsageError);
  Result single = make_result({"n"}, {{"5"}, {"6"}});
  CHECK(single.all<int>() == std::vector<int>{5, 6});
}

TEST_CASE("rows map to described structs by column name") {
  Result r = accounts();
  std::vector<app::Account> all = r.all<app::Account>();
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == 1);
  CHECK(all[0].owner == "ann");
  CHECK(all[0].balance == Decimal("10.5"));
  CHECK(all[0].note == std::nullopt);
  CHECK(all[1].note == "vip");
  app::Account one = r[1].as<app::Account>();
  CHECK(one.owner == "bob");
  Result missing = make_result({"id", "owner"}, {{"1", "ann"}});
  CHECK_THROWS_AS(missing.all<app::Account>(), UsageError);
  CHECK(make_result({"id", "owner", "balance", "note"}, {}).all<app::Account>().empty());
}

TEST_CASE("rows keep their result alive; one() insists on exactly one row") {
  std::optional<Row> kept;
  {
    Result r = make_result({"owner"}, {{"ann"}});
    kept = r.one();
  }
  CHECK(kept->get<std::string>("owner") == "ann");
  CHECK_THROWS_AS(accounts().one(), UsageError);
  CHECK_THROWS_AS(make_result({"a"}, {}).one(), UsageError);
}
