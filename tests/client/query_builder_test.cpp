// The query builder against a real PostgreSQL: every construct runs, on data that tells right
// from wrong (see query_builder_fixture.hpp for the rows).
#include <doctest/doctest.h>

#include "query_builder_fixture.hpp"
#include "test_database.hpp"

using namespace ouroboros;
using qb_test::names;
using Strings = std::vector<std::string>;

namespace {
std::string schema_name() {
  return client_test::unique_name("qb");
}

// Names of the users a condition selects, by id.
Strings who(Connection& conn, const qb_test::Shop& shop, const query::Condition& condition) {
  const auto& u = shop.users;
  return names(query::select(u.name).from(u).where(condition).order_by(u.id).fetch(conn));
}
}  // namespace

TEST_CASE("query builder: any_ / eq_any / array operators return exactly the expected rows") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  CHECK(who(conn, shop, u.tags.any_("admin")) == Strings{"ann", "dee"});
  CHECK(who(conn, shop, u.tags.any_("staff")) == Strings{"ann", "bob"});
  CHECK(who(conn, shop, u.tags.any_("nobody")).empty());
  CHECK(who(conn, shop, u.id.eq_any(std::vector<std::int64_t>{4, 2, 99})) == Strings{"bob", "dee"});
  CHECK(who(conn, shop, u.name.eq_any(Strings{"eve", "cid"})) == Strings{"cid", "eve"});
  CHECK(who(conn, shop, u.id.eq_any(std::vector<std::int64_t>{})).empty());
  CHECK(who(conn, shop, u.tags.contains(Strings{"staff", "admin"})) == Strings{"ann"});
  CHECK(who(conn, shop, u.tags.contained_by(Strings{"staff", "admin"})) ==
        Strings{"ann", "bob", "cid", "dee"});
  CHECK(who(conn, shop, u.tags.overlaps(Strings{"guest", "staff"})) ==
        Strings{"ann", "bob", "eve"});
}

TEST_CASE("query builder: has / has_all / has_any / @> on jsonb, and on json through a cast") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  CHECK(who(conn, shop, u.meta.has("vip")) == Strings{"ann", "dee"});
  CHECK(who(conn, shop, u.meta.has("plan")) == Strings{"ann", "bob", "eve"});
  CHECK(who(conn, shop, u.meta.has_all({"plan", "trial"})) == Strings{"eve"});
  CHECK(who(conn, shop, u.meta.has_any({"vip", "trial"})) == Strings{"ann", "dee", "eve"});
  CHECK(who(conn, shop, u.meta.contains(Json{R"({"plan":"pro"})"})) == Strings{"ann", "eve"});
  CHECK(who(conn, shop, u.meta.contained_by(Json{R"({"plan":"free","x":1})"})) ==
        Strings{"bob", "cid"});
  CHECK(who(conn, shop, u.legacy.has("beta")) == Strings{"ann", "dee"});
  CHECK(who(conn, shop, u.legacy.has_any({"old", "nothing"})) == Strings{"bob"});
  CHECK(who(conn, shop, u.legacy.contains(Json{R"({"beta":2})"})) == Strings{"dee"});
}

TEST_CASE("query builder: comparisons, dynamic OR, NOT, IN, BETWEEN, LIKE, IS NULL") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  query::Condition any;
  for (const char* tag : {"guest", "admin"}) any = any || u.tags.any_(tag);
  CHECK(who(conn, shop, any) == Strings{"ann", "dee", "eve"});
  CHECK(who(conn, shop, any && u.age > 40) == Strings{"dee"});
  CHECK(who(conn, shop, !(u.age > 30)) == Strings{"bob", "cid"});  // NULL age: neither
  CHECK(who(conn, shop, u.age.between(20, 40)) == Strings{"ann", "bob"});
  CHECK(who(conn, shop, u.name.in_(Strings{"bob", "eve", "zed"})) == Strings{"bob", "eve"});
  CHECK(who(conn, shop, u.name.in_(Strings{})).empty());
  CHECK(who(conn, shop, u.name.like("%e")) == Strings{"dee", "eve"});
  CHECK(who(conn, shop, u.name.like("_e_")) == Strings{"dee"});
  CHECK(who(conn, shop, u.name.ilike("A%")) == Strings{"ann"});
  CHECK(who(conn, shop, u.name.like(query::escape_like("a%") + "%")).empty());
  CHECK(who(conn, shop, u.bio.is_null()) == Strings{"cid", "eve"});
  CHECK(who(conn, shop, u.age.is_null() || (u.manager_id.is_not_null() && u.age < 20)) ==
        Strings{"cid", "eve"});
  CHECK(who(conn, shop, query::any_of({})).empty());
  CHECK(who(conn, shop, query::all_of({})).size() == 5);
}

TEST_CASE("query builder: joins keep or drop unmatched rows as they should; self-join") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  const auto& o = shop.orders;

  auto rows = query::select(u.name, o.total)
                  .from(u)
                  .left_join(o, o.user_id == u.id)
                  .order_by(u.id, o.total)
                  .all<std::string, std::optional<Decimal>>(conn);
  REQUIRE(rows.size() == 7);
  CHECK(std::get<0>(rows[3]) == "cid");
  CHECK(std::get<1>(rows[3]) == std::nullopt);  // kept although it has no order
  CHECK(std::get<0>(rows[6]) == "eve");
  CHECK(std::get<1>(rows[6]) == std::nullopt);
  CHECK(query::select(u.name).from(u).join(o, o.user_id == u.id).fetch(conn).size() == 5);

  // RIGHT / FULL with a condition in ON that only the void order meets.
  auto on = o.user_id == u.id && o.status == "void";
  CHECK(query::select(u.name, o.id).from(u).right_join(o, on).fetch(conn).size() == 5);
  auto full = query::select(u.name, o.id).from(u).full_join(o, on).fetch(conn);
  CHECK(full.size() == 9);  // bob matched once, 4 other users, 4 other orders
  CHECK(query::select(u.id, o.id).from(u).cross_join(o).fetch(conn).size() == 25);

  const qb_test::Users boss = u.as("boss");
  auto bosses = query::select(u.name, boss.name.as("boss"))
                    .from(u)
                    .left_join(boss, u.manager_id == boss.id)
                    .order_by(u.id)
                    .all<std::string, std::optional<std::string>>(conn);
  REQUIRE(bosses.size() == 5);
  CHECK(bosses[0] == std::tuple<std::string, std::optional<std::string>>{"ann", std::nullopt});
  CHECK(std::get<1>(bosses[1]) == "ann");
  CHECK(std::get<1>(bosses[2]) == "ann");
  CHECK(std::get<1>(bosses[3]) == "bob");
  CHECK(std::get<1>(bosses[4]) == std::nullopt);
}

TEST_CASE("query builder: subqueries in FROM, IN, EXISTS, scalar; correlated") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  const auto& o = shop.orders;

  auto paid = query::select(o.id).from(o).where(o.user_id == u.id && o.status == "paid");
  CHECK(who(conn, shop, query::exists(paid)) == Strings{"ann", "dee"});
  CHECK(who(conn, shop, !query::exists(query::select(o.id).from(o).where(o.user_id == u.id))) ==
        Strings{"cid", "eve"});
  CHECK(who(conn, shop, u.id.in_(query::select(o.user_id).from(o).where(o.total > 60))) ==
        Strings{"ann", "dee"});

  auto order_count =
      query::scalar<std::int64_t>(query::select(query::count()).from(o).where(o.user_id == u.id));
  auto counts = query::select(u.name, order_count.as("n"))
                    .from(u)
                    .where(order_count >= 1)
                    .order_by(u.id)
                    .all<std::string, std::int64_t>(conn);
  CHECK(counts ==
        std::vector<std::tuple<std::string, std::int64_t>>{{"ann", 2}, {"bob", 1}, {"dee", 2}});

  auto spent = query::select(o.user_id, query::sum(o.total).as("spent"))
                   .from(o)
                   .where(o.status == "paid")
                   .group_by(o.user_id)
                   .as("spent_by");
  auto rich = query::select(u.name, spent.column<Decimal>("spent"))
                  .from(spent)
                  .join(u, u.id == spent.column<std::int64_t>("user_id"))
                  .where(spent.column<Decimal>("spent") > 100)
                  .order_by(u.name)
                  .all<std::string, Decimal>(conn);
  CHECK(rich == std::vector<std::tuple<std::string, Decimal>>{{"ann", Decimal("150.00")},
                                                              {"dee", Decimal("300.00")}});
}

TEST_CASE("query builder: aggregates, group_by, having, distinct, order, limit, offset") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  const auto& o = shop.orders;
  auto per_user = query::select(o.user_id, query::sum(o.total).as("spent"), query::count())
                      .from(o)
                      .group_by(o.user_id)
                      .having(query::count() > 1)
                      .order_by(o.user_id)
                      .all<std::int64_t, Decimal, std::int64_t>(conn);
  CHECK(per_user == std::vector<std::tuple<std::int64_t, Decimal, std::int64_t>>{
                        {1, Decimal("150.00"), 2}, {4, Decimal("305.00"), 2}});
  CHECK(query::select(o.status).distinct().from(o).order_by(o.status).all<std::string>(conn) ==
        Strings{"paid", "pending", "void"});
  CHECK(query::select(query::count_distinct(o.user_id), query::max(o.total), query::avg(u.age))
            .from(o)
            .join(u, u.id == o.user_id)
            .one<std::int64_t, Decimal, Decimal>(conn) ==
        std::tuple<std::int64_t, Decimal, Decimal>{3, Decimal("300.00"), Decimal("37.2")});
  CHECK(
      names(query::select(u.name).from(u).order_by(u.name.desc()).limit(2).offset(1).fetch(conn)) ==
      Strings{"dee", "cid"});
  CHECK(names(query::select(u.name)
                  .from(u)
                  .order_by(u.age.desc().nulls_last(), u.id)
                  .limit(2)
                  .fetch(conn)) == Strings{"dee", "ann"});
}

TEST_CASE("query builder: defer / only leave columns out of the SQL; reading them is NotLoaded") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;

  auto deferred = query::select_from(u).defer(u.bio, u.tags).where(u.id == 2);
  CHECK(deferred.render().sql().find("\"bio\"") == std::string::npos);
  CHECK(deferred.render().sql().find("\"tags\"") == std::string::npos);
  CHECK(deferred.fetch(conn).columns() == 6);
  qb_test::User bob = deferred.one<qb_test::User>(conn);
  CHECK(bob.name == "bob");
  CHECK(bob.age.get() == 28);
  CHECK_FALSE(bob.bio.loaded());
  CHECK_THROWS_WITH_AS(bob.bio.get(), doctest::Contains("\"bio\" was not loaded"),
                       query::NotLoaded);
  CHECK_THROWS_AS((void)bob.tags->size(), query::NotLoaded);

  auto only = query::select_from(u).only(u.name).order_by(u.id);
  const std::string q = query::quote_identifier(shop.schema());
  CHECK(only.render().sql() == "SELECT " + q + ".\"users\".\"id\", " + q +
                                   ".\"users\".\"name\" FROM " + q + ".\"users\" ORDER BY " + q +
                                   ".\"users\".\"id\"");
  auto few = only.all<qb_test::User>(conn);
  REQUIRE(few.size() == 5);
  CHECK(few[4].id == 5);
  CHECK(few[4].name == "eve");
  CHECK_THROWS_AS(few[4].age.get(), query::NotLoaded);

  only.undefer(u.bio);
  auto with_bio = only.all<qb_test::User>(conn);
  CHECK(with_bio[0].bio.get() == "founder");
  CHECK(with_bio[2].bio.get() == std::nullopt);  // loaded, and NULL: not the same as not loaded
  CHECK_THROWS_AS(with_bio[0].tags.get(), query::NotLoaded);
  only.undefer();
  CHECK(only.all<qb_test::User>(conn)[0].tags.get() == Strings{"admin", "staff"});

  // A struct member that nothing selected can fill is refused before the query runs.
  CHECK_THROWS_AS(query::select(u.id, u.name.as("nick2")).from(u).all<qb_test::User>(conn),
                  UsageError);
}

TEST_CASE("query builder: INSERT / UPDATE / DELETE give counts, RETURNING gives rows") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  const auto& o = shop.orders;

  CHECK(query::insert_into(o)
            .set(o.user_id, 3)
            .set(o.total, Decimal("7.25"))
            .set(o.status, "paid")
            .execute(conn) == 1);
  auto added = query::insert_into(u)
                   .set(u.name, "fay")
                   .set(u.tags, Strings{"new"})
                   .set(u.meta, Json{R"({"vip":true})"})
                   .next_row()
                   .set(u.name, "gus")
                   .set(u.tags, Strings{})
                   .set(u.meta, Json{"{}"})
                   .returning(u.id, u.name)
                   .all<std::int64_t, std::string>(conn);
  CHECK(added == std::vector<std::tuple<std::int64_t, std::string>>{{6, "fay"}, {7, "gus"}});
  CHECK(who(conn, shop, u.meta.has("vip")) == Strings{"ann", "dee", "fay"});

  CHECK(query::update(u).set(u.age, u.age + 1).where(u.tags.any_("staff")).execute(conn) == 2);
  CHECK(query::select(u.age).from(u).where(u.id == 1).one<int>(conn) == 35);
  auto renamed = query::update(u)
                     .set(u.bio, std::nullopt)
                     .where(u.name == "dee")
                     .returning(u)
                     .one<qb_test::User>(conn);
  CHECK(renamed.id == 4);
  CHECK(renamed.bio.get() == std::nullopt);

  CHECK(query::delete_from(o).where(o.status == "nothing").execute(conn) == 0);
  auto voided = query::delete_from(o)
                    .where(o.user_id.in_(query::select(u.id).from(u).where(u.name == "bob")))
                    .returning(o.total)
                    .all<Decimal>(conn);
  CHECK(voided == std::vector<Decimal>{Decimal("20.00")});
  CHECK(query::update(o).set(o.status, "archived").all_rows().execute(conn) == 5);
  CHECK(query::delete_from(o).all_rows().execute(conn) == 5);

  Transaction tx = conn.begin();
  CHECK(query::delete_from(u).where(u.id == 7).execute(tx) == 1);
  tx.rollback();
  CHECK(query::select(query::count()).from(u).one<std::int64_t>(conn) == 7);
}

TEST_CASE("query builder: injection through values and identifiers stays harmless") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  const std::string attack = "x'); DROP TABLE " + shop.schema() + ".users; --";
  const std::int64_t id = query::insert_into(u)
                              .set(u.name, attack)
                              .set(u.tags, Strings{attack, "\"},{"})
                              .set(u.meta, Json{"{}"})
                              .returning(u.id)
                              .one<std::int64_t>(conn);
  CHECK(who(conn, shop, u.name == attack) == Strings{attack});
  CHECK(who(conn, shop, u.tags.any_("\"},{")) == Strings{attack});
  CHECK(who(conn, shop, u.meta.has(attack)).empty());
  CHECK(query::select(u.tags).from(u).where(u.id == id).one<Strings>(conn) ==
        Strings{attack, "\"},{"});

  // Identifiers with quotes, semicolons and non-ASCII: quoted, so they are names and nothing else.
  const qb_test::Users aliased = u.as("u\"; DROP TABLE users; --");
  auto odd = query::select(aliased.name.as("n\"; DROP TABLE x; --"))
                 .from(aliased)
                 .where(aliased.id == 1)
                 .fetch(conn);
  CHECK(odd.column_name(0) == "n\"; DROP TABLE x; --");
  CHECK(odd.one().get<std::string>(0) == "ann");
  auto sub = query::select(u.id).from(u).as("ñ \"x\"");
  CHECK(query::select(sub.column<std::int64_t>("id")).from(sub).fetch(conn).size() == 6);
  CHECK(query::select(query::count()).from(u).one<std::int64_t>(conn) == 6);  // still there
}

TEST_CASE("query builder: reuse with placeholders hits one prepared statement") {
  Connection conn = client_test::connect();
  qb_test::Shop shop(conn, schema_name());
  const auto& u = shop.users;
  query::Param<std::int32_t> min_age("min_age");
  query::Param<std::string> tag("tag");
  const auto q =
      query::select(u.name).from(u).where(u.age >= min_age || u.tags.any_(tag)).order_by(u.id);
  CHECK(names(q.fetch(conn, {min_age.bind(40), tag.bind("guest")})) == Strings{"dee", "eve"});
  const std::size_t cached = conn.cached_statements();
  CHECK(names(q.fetch(conn, {min_age.bind(30), tag.bind("staff")})) ==
        Strings{"ann", "bob", "dee"});
  CHECK(names(q.fetch(conn, {tag.bind("none"), min_age.bind(100)})).empty());
  CHECK(conn.cached_statements() == cached);
  CHECK_THROWS_AS(q.fetch(conn, {min_age.bind(1)}), UsageError);
}
