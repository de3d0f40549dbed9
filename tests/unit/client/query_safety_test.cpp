// Injection through values and identifiers, identifier validation, deterministic rendering,
// reuse with placeholders, and deferred members of mapped structs (NotLoaded).
#include <doctest/doctest.h>
#include <libpq-fe.h>

#include "query_test_schema.hpp"

using namespace ouroboros;
using query_test::params;
namespace query = ouroboros::query;

namespace {
const shop::Users users;

struct Evil : query::Table<Evil, "users\"; DROP TABLE users; --"> {
  Column<std::string> name = column("na\"me");
};

// A table whose column name comes from the test.
struct Named : query::Table<Named, "t"> {
  explicit Named(std::string_view column_name) : x(column(column_name)) {}
  Named() : Named("x") {}
  Column<int> x;
};
}  // namespace

TEST_CASE("values never reach the SQL text, whatever they contain") {
  const std::string attack = "x'); DROP TABLE users; --";
  auto s = query::select(users.id)
               .from(users)
               .where(users.name == attack || users.tags.any_(attack) || users.meta.has(attack))
               .render();
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."name" = $1) OR )"
                   R"(($2 = ANY("users"."tags")) OR ("users"."meta" ? $3))");
  CHECK(s.sql().find("DROP") == std::string::npos);
  CHECK(params(s) == "$1=" + attack + ", $2=" + attack + ", $3=" + attack);
}

TEST_CASE("identifiers are quoted: quotes inside are doubled, so they stay one identifier") {
  const Evil evil;
  CHECK(query::select(evil.name).from(evil).render().sql() ==
        R"(SELECT "users""; DROP TABLE users; --"."na""me" FROM "users""; DROP TABLE users; --")");
  CHECK(query::select(users.id).from(users.as("u\" OR 1=1 --")).render().sql() ==
        R"(SELECT "users"."id" FROM "users" AS "u"" OR 1=1 --")");
  CHECK(query::select(users.id.as("a\"b")).from(users).render().sql() ==
        R"(SELECT "users"."id" AS "a""b" FROM "users")");
  CHECK(query::quote_identifier("\"") == "\"\"\"\"");
}

TEST_CASE("identifiers are validated: empty, NUL, invalid UTF-8, too long") {
  using std::string_literals::operator""s;
  for (const std::string& bad :
       {""s, "a\0b"s, "\xff"s, "\xc0\xaf"s, "\xed\xa0\x80"s, "\xe2\x82"s, std::string(64, 'a')}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(users.as(bad), UsageError);
    CHECK_THROWS_AS(users.in_schema(bad.empty() ? "\xff"s : bad), UsageError);
    CHECK_THROWS_AS(users.id.as(bad), UsageError);
    CHECK_THROWS_AS(query::select(users.id).from(users).as(bad), UsageError);
    CHECK_THROWS_AS((void)Named(bad), UsageError);
  }
  CHECK_NOTHROW(users.as(std::string(63, 'a')));
  CHECK_NOTHROW(users.as("名前"));
  CHECK(query::select(users.id).from(users.as("名前")).render().sql() ==
        R"(SELECT "users"."id" FROM "users" AS "名前")");
  auto derived = query::select(users.id).from(users).as("d");
  CHECK_THROWS_AS(derived.column<int>("a\0b"s), UsageError);
}

TEST_CASE("rendering is deterministic and a builder is reusable") {
  auto base = query::select_from(users).where(users.age > 18);
  const std::string first = base.render().sql();
  CHECK(base.render().sql() == first);
  CHECK(params(base.render()) == params(base.render()));

  // Copies are independent: extending one leaves the other as it was.
  auto narrowed = base;
  narrowed.where(users.name == "ann").defer(users.bio);
  CHECK(base.render().sql() == first);
  CHECK(narrowed.render().sql() != first);

  // The same shape with other values renders the same text (one prepared statement).
  auto by_age = [](int age) { return query::select(users.id).from(users).where(users.age > age); };
  CHECK(by_age(1).render().sql() == by_age(2).render().sql());
  CHECK(params(by_age(1).render()) == "$1=1");
  CHECK(params(by_age(2).render()) == "$1=2");
}

TEST_CASE("named placeholders: bound per run, reused in the text, checked") {
  query::Param<std::int32_t> min_age("min_age");
  query::Param<std::string> tag("tag");
  auto q = query::select(users.id)
               .from(users)
               .where(users.age >= min_age && (users.tags.any_(tag) || users.bio == tag))
               .limit(query::Param<std::int64_t>("n"));
  auto s = q.render();
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."age" >= $1) AND )"
                   R"((($2 = ANY("users"."tags")) OR ("users"."bio" = $2)) LIMIT $3)");
  CHECK(params(s) == "$1=:min_age, $2=:tag, $3=:n");

  Params p = s.params({tag.bind("vip"), min_age.bind(21), query::Param<std::int64_t>("n").bind(5)});
  REQUIRE(p.size() == 3);
  CHECK(std::string(p.values()[0]) == "21");
  CHECK(std::string(p.values()[1]) == "vip");
  CHECK(std::string(p.values()[2]) == "5");
  CHECK(p.types()[0] == oids::kInt4);
  CHECK(p.types()[2] == oids::kInt8);

  CHECK_THROWS_AS(s.params({min_age.bind(1)}), UsageError);  // tag and n unbound
  CHECK_THROWS_AS(s.params({min_age.bind(1), tag.bind("a"), query::Param<std::int64_t>("n").bind(1),
                            query::Param<int>("other").bind(1)}),
                  UsageError);  // names no placeholder
  CHECK_THROWS_AS(s.params({min_age.bind(1), min_age.bind(2), tag.bind("a"),
                            query::Param<std::int64_t>("n").bind(1)}),
                  UsageError);  // bound twice
  CHECK_THROWS_AS(s.params({query::Param<std::int64_t>("min_age").bind(1), tag.bind("a"),
                            query::Param<std::int64_t>("n").bind(1)}),
                  UsageError);  // another type
  CHECK_THROWS_AS(query::select(users.id)
                      .from(users)
                      .where(users.age == query::Param<int>("p") &&
                             users.name == query::Param<std::string>("p"))
                      .render(),
                  UsageError);
}

namespace {
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
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c)
      PQsetvalue(result, static_cast<int>(r), static_cast<int>(c),
                 rows[r][c] ? const_cast<char*>(rows[r][c]->c_str()) : nullptr,
                 rows[r][c] ? static_cast<int>(rows[r][c]->size()) : -1);
  return Result(std::make_shared<const detail::ResultData>(result));
}

struct Plain {
  std::int64_t id = 0;
  std::string bio;
};
OUROBOROS_FIELDS(Plain, id, bio)
}  // namespace

TEST_CASE("deferred members: loaded when selected, NotLoaded when read otherwise") {
  Result all = make_result({"id", "name", "age", "bio"}, {{"1", "ann", "30", "hi"}});
  shop::User loaded = query::RowMapper<shop::User>(all).read(all[0]);
  CHECK(loaded.age.loaded());
  CHECK(loaded.age.get() == 30);
  CHECK(*loaded.bio == "hi");

  Result partial = make_result({"id", "name"}, {{"1", "ann"}, {"2", "bob"}});
  auto users_read = query::RowMapper<shop::User>(partial).read_all(partial);
  REQUIRE(users_read.size() == 2);
  CHECK(users_read[1].name == "bob");
  CHECK_FALSE(users_read[1].bio.loaded());
  CHECK_THROWS_AS(users_read[1].bio.get(), query::NotLoaded);
  CHECK_THROWS_WITH_AS(users_read[1].age.get(), doctest::Contains("\"age\" was not loaded"),
                       query::NotLoaded);
  CHECK(users_read[1].bio.value_or("?") == "?");
  CHECK_THROWS_AS(query::Deferrable<int>().get(), query::NotLoaded);

  // A plain member cannot be left out: the mapping refuses rather than default it.
  CHECK_THROWS_AS((void)query::RowMapper<Plain>(partial), query::NotLoaded);
  // Deferrable also reads through the ordinary struct mapping.
  CHECK(all.one().as<shop::User>().bio.get() == "hi");
  Result nulls = make_result({"id", "name", "age", "bio"}, {{"1", "ann", std::nullopt, "x"}});
  CHECK_THROWS_AS(query::RowMapper<shop::User>(nulls).read(nulls[0]), UnexpectedNull);
}

TEST_CASE("the struct mapping is checked against the select list before running") {
  using query::detail::check_mapping;
  using query::detail::field_names;
  auto items = query::select_from(users).defer(users.bio).spec().items;
  CHECK_NOTHROW(check_mapping(items, field_names<shop::User>()));
  auto narrow = query::select(users.id, users.name.as("title")).from(users).spec().items;
  CHECK_THROWS_AS(check_mapping(narrow, field_names<shop::User>()), UsageError);
}
