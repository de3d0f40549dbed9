// Golden SQL for SELECT: the exact text and the parameter list of every construct.
#include <doctest/doctest.h>

#include "query_test_schema.hpp"

using namespace ouroboros;
using query_test::params;
using query_test::types;
namespace query = ouroboros::query;

namespace {
const shop::Users users;
const shop::Orders orders;
}  // namespace

TEST_CASE("select_from selects every declared column, qualified and quoted") {
  auto s = query::select_from(users).render();
  CHECK(s.sql() ==
        R"(SELECT "users"."id", "users"."name", "users"."age", "users"."tags", "users"."meta", )"
        R"("users"."legacy", "users"."manager_id", "users"."bio" FROM "users")");
  CHECK(s.parameters().empty());
  CHECK(query::select(orders.id).from(orders).render().sql() ==
        R"(SELECT "sales"."orders"."id" FROM "sales"."orders")");
}

TEST_CASE("where, order_by, limit and offset; values are parameters") {
  auto s = query::select(users.id, users.name)
               .from(users)
               .where(users.age >= 18 && users.name.like("a%"))
               .order_by(users.name.asc(), users.id.desc().nulls_last(), users.age)
               .limit(10)
               .offset(20)
               .render();
  CHECK(s.sql() ==
        R"(SELECT "users"."id", "users"."name" FROM "users" WHERE ("users"."age" >= $1) AND )"
        R"(("users"."name" LIKE $2) ORDER BY "users"."name" ASC, "users"."id" DESC NULLS LAST, )"
        R"("users"."age" LIMIT $3 OFFSET $4)");
  CHECK(params(s) == "$1=18, $2=a%, $3=10, $4=20");
  CHECK(types(s) == std::vector<Oid>{oids::kInt4, 0, oids::kInt8, oids::kInt8});
}

TEST_CASE("comparisons, NOT, IS NULL, BETWEEN, IN, ILIKE") {
  auto where = [](const query::Condition& c) {
    return query::select(users.id).from(users).where(c).render();
  };
  auto s = where(users.id == 1 && users.id != 2 && users.age < 3 && users.age <= 4 &&
                 users.age > 5 && 6 <= users.age);
  CHECK(s.sql() ==
        R"(SELECT "users"."id" FROM "users" WHERE ("users"."id" = $1) AND ("users"."id" <> $2))"
        R"( AND ("users"."age" < $3) AND ("users"."age" <= $4) AND ("users"."age" > $5) AND )"
        R"(($6 <= "users"."age"))");
  CHECK(params(s) == "$1=1, $2=2, $3=3, $4=4, $5=5, $6=6");

  s = where(!(users.manager_id.is_null() || users.bio.is_not_null()));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE NOT (("users"."manager_id" IS NULL))"
                   R"( OR ("users"."bio" IS NOT NULL)))");

  s = where(users.age.between(18, 65) && users.name.ilike("%ann%"));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."age" BETWEEN $1 AND $2))"
                   R"( AND ("users"."name" ILIKE $3))");
  CHECK(params(s) == "$1=18, $2=65, $3=%ann%");

  s = where(users.name.in_(std::vector<std::string>{"ann", "bob"}));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE "users"."name" IN ($1, $2))");
  CHECK(params(s) == "$1=ann, $2=bob");
  s = where(users.name.in_(std::vector<std::string>{}));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE FALSE)");

  s = where(users.name == users.bio && users.age + 1 > users.id * 2);
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."name" = "users"."bio"))"
                   R"( AND (("users"."age" + $1) > ("users"."id" * $2)))");
  CHECK(query::escape_like("50%_a\\b") == "50\\%\\_a\\\\b");
}

TEST_CASE("conditions compose at run time: dynamic OR, all_of / any_of, the empty Condition") {
  query::Condition any;
  for (std::string tag : {"admin", "staff", "beta"}) any = any || users.tags.any_(tag);
  auto s = query::select(users.id).from(users).where(any && users.age > 18).render();
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE (($1 = ANY("users"."tags")) OR )"
                   R"(($2 = ANY("users"."tags")) OR ($3 = ANY("users"."tags"))) AND )"
                   R"(("users"."age" > $4))");
  CHECK(params(s) == "$1=admin, $2=staff, $3=beta, $4=18");

  CHECK(query::select(users.id).from(users).where(query::Condition()).render().sql() ==
        R"(SELECT "users"."id" FROM "users")");
  CHECK(query::select(users.id).from(users).where(query::any_of({})).render().sql() ==
        R"(SELECT "users"."id" FROM "users" WHERE FALSE)");
  CHECK(query::select(users.id).from(users).where(query::all_of({})).render().sql() ==
        R"(SELECT "users"."id" FROM "users" WHERE TRUE)");
  s = query::select(users.id)
          .from(users)
          .where(query::all_of({users.age > 1, query::Condition(), users.age < 9}))
          .where(users.name == "x")
          .render();
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."age" > $1) AND )"
                   R"(("users"."age" < $2) AND ("users"."name" = $3))");
  CHECK_THROWS_AS((void)!query::Condition(), UsageError);
}

TEST_CASE("array and JSON filters") {
  auto where = [](const query::Condition& c) {
    return query::select(users.id).from(users).where(c).render();
  };
  auto s = where(users.tags.any_("admin"));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE $1 = ANY("users"."tags"))");
  CHECK(params(s) == "$1=admin");

  s = where(users.id.eq_any(std::vector<std::int64_t>{3, 1, 2}));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE "users"."id" = ANY($1))");
  CHECK(params(s) == R"($1={"3","1","2"})");
  CHECK(types(s) == std::vector<Oid>{oids::kInt8Array});

  s = where(users.tags.contains(std::vector<std::string>{"a", "b c"}) &&
            users.tags.contained_by(std::vector<std::string>{"x"}) &&
            users.tags.overlaps(std::vector<std::string>{"y", "z"}));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."tags" @> $1) AND )"
                   R"(("users"."tags" <@ $2) AND ("users"."tags" && $3))");
  CHECK(params(s) == R"($1={"a","b c"}, $2={"x"}, $3={"y","z"})");
  CHECK(types(s) == std::vector<Oid>{oids::kTextArray, oids::kTextArray, oids::kTextArray});

  s = where(users.meta.has("vip") && users.meta.has_all({"a", "b"}) && users.meta.has_any({"c"}) &&
            users.meta.contains(Json{R"({"plan":"pro"})"}));
  CHECK(s.sql() ==
        R"(SELECT "users"."id" FROM "users" WHERE ("users"."meta" ? $1) AND )"
        R"(("users"."meta" ?& $2) AND ("users"."meta" ?| $3) AND ("users"."meta" @> $4))");
  CHECK(params(s) == R"($1=vip, $2={"a","b"}, $3={"c"}, $4={"plan":"pro"})");

  // A json (not jsonb) column is cast for the jsonb operators.
  s = where(users.legacy.has("vip") || users.legacy.contained_by(Json{"{}"}));
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."legacy"::jsonb ? $1))"
                   R"( OR ("users"."legacy"::jsonb <@ $2))");
}

TEST_CASE("distinct, aggregates, group_by and having") {
  auto s = query::select(users.age, query::count().as("n"), query::count_distinct(users.name),
                         query::max(users.id).as("top"))
               .distinct()
               .from(users)
               .group_by(users.age)
               .having(query::count() > 1 && query::avg(users.id) < 100)
               .render();
  CHECK(s.sql() == R"(SELECT DISTINCT "users"."age", count(*) AS "n", count(DISTINCT )"
                   R"("users"."name"), max("users"."id") AS "top" FROM "users" GROUP BY )"
                   R"("users"."age" HAVING (count(*) > $1) AND (avg("users"."id") < $2))");
  CHECK(params(s) == "$1=1, $2=100");
  s = query::select(query::sum(orders.total), query::min(orders.status), query::count(orders.id))
          .from(orders)
          .render();
  CHECK(s.sql() == R"(SELECT sum("sales"."orders"."total"), min("sales"."orders"."status"), )"
                   R"(count("sales"."orders"."id") FROM "sales"."orders")");
}

TEST_CASE("joins: inner, left, right, full, cross, and a self-join through an alias") {
  const shop::Users boss = users.as("boss");
  auto s = query::select(users.name, boss.name.as("boss_name"), orders.total)
               .from(users)
               .left_join(boss, users.manager_id == boss.id)
               .join(orders, orders.user_id == users.id && orders.status == "paid")
               .render();
  CHECK(s.sql() ==
        R"(SELECT "users"."name", "boss"."name" AS "boss_name", "sales"."orders"."total" FROM )"
        R"("users" LEFT JOIN "users" AS "boss" ON "users"."manager_id" = "boss"."id" JOIN )"
        R"("sales"."orders" ON ("sales"."orders"."user_id" = "users"."id") AND )"
        R"(("sales"."orders"."status" = $1))");
  CHECK(params(s) == "$1=paid");

  s = query::select(users.id, orders.id)
          .from(users)
          .right_join(orders, orders.user_id == users.id)
          .full_join(boss, boss.id == users.manager_id)
          .cross_join(users.as("other"))
          .render();
  CHECK(s.sql() == R"(SELECT "users"."id", "sales"."orders"."id" FROM "users" RIGHT JOIN )"
                   R"("sales"."orders" ON "sales"."orders"."user_id" = "users"."id" FULL JOIN )"
                   R"("users" AS "boss" ON "boss"."id" = "users"."manager_id" CROSS JOIN )"
                   R"("users" AS "other")");
  const shop::Orders archived = orders.in_schema("archive").as("o");
  CHECK(query::select(archived.id).from(archived).render().sql() ==
        R"(SELECT "o"."id" FROM "archive"."orders" AS "o")");
}

TEST_CASE("subqueries: FROM with an alias, IN, EXISTS, scalar, correlated; one numbering") {
  auto big = query::select(orders.user_id, query::sum(orders.total).as("spent"))
                 .from(orders)
                 .where(orders.status == "paid")
                 .group_by(orders.user_id)
                 .as("big");
  auto s = query::select(users.name, big.column<Decimal>("spent"))
               .from(users)
               .join(big, big.column<std::int64_t>("user_id") == users.id)
               .where(big.column<Decimal>("spent") > 100 && users.age > 30)
               .render();
  CHECK(s.sql() == R"(SELECT "users"."name", "big"."spent" FROM "users" JOIN (SELECT )"
                   R"("sales"."orders"."user_id", sum("sales"."orders"."total") AS "spent" FROM )"
                   R"("sales"."orders" WHERE "sales"."orders"."status" = $1 GROUP BY )"
                   R"("sales"."orders"."user_id") AS "big" ON "big"."user_id" = "users"."id" )"
                   R"(WHERE ("big"."spent" > $2) AND ("users"."age" > $3))");
  CHECK(params(s) == "$1=paid, $2=100, $3=30");

  s = query::select(users.id)
          .from(users)
          .where(users.age > 1 &&
                 users.id.in_(query::select(orders.user_id).from(orders).where(orders.total > 5)))
          .render();
  CHECK(s.sql() == R"(SELECT "users"."id" FROM "users" WHERE ("users"."age" > $1) AND )"
                   R"(("users"."id" IN (SELECT "sales"."orders"."user_id" FROM "sales"."orders")"
                   R"( WHERE "sales"."orders"."total" > $2)))");
  CHECK(params(s) == "$1=1, $2=5");

  // Correlated: the subqueries refer to the outer row.
  auto paid = query::select(orders.id).from(orders).where(orders.user_id == users.id &&
                                                          orders.status == "paid");
  auto count = query::scalar<std::int64_t>(
      query::select(query::count()).from(orders).where(orders.user_id == users.id));
  s = query::select(users.id, count.as("orders"))
          .from(users)
          .where(query::exists(paid) && !query::exists(paid) && count >= 2)
          .render();
  CHECK(s.sql() ==
        R"(SELECT "users"."id", (SELECT count(*) FROM "sales"."orders" WHERE )"
        R"("sales"."orders"."user_id" = "users"."id") AS "orders" FROM "users" WHERE EXISTS )"
        R"((SELECT "sales"."orders"."id" FROM "sales"."orders" WHERE ("sales"."orders"."user_id")"
        R"( = "users"."id") AND ("sales"."orders"."status" = $1)) AND (NOT EXISTS (SELECT )"
        R"("sales"."orders"."id" FROM "sales"."orders" WHERE ("sales"."orders"."user_id" = )"
        R"("users"."id") AND ("sales"."orders"."status" = $2))) AND ((SELECT count(*) FROM )"
        R"("sales"."orders" WHERE "sales"."orders"."user_id" = "users"."id") >= $3))");
  CHECK(params(s) == "$1=paid, $2=paid, $3=2");
}

TEST_CASE("deferred columns: only keeps the primary key, defer leaves out, undefer reverses") {
  auto q = query::select_from(users).only(users.name);
  CHECK(q.render().sql() == R"(SELECT "users"."id", "users"."name" FROM "users")");
  q.undefer(users.bio);
  CHECK(q.render().sql() == R"(SELECT "users"."id", "users"."name", "users"."bio" FROM "users")");

  auto d = query::select_from(users).defer(users.bio, users.meta, users.legacy, users.tags);
  CHECK(d.render().sql() ==
        R"(SELECT "users"."id", "users"."name", "users"."age", "users"."manager_id" FROM "users")");
  d.undefer();
  CHECK(d.render().sql() == query::select_from(users).render().sql());

  CHECK_THROWS_AS(query::select_from(users).defer(users.id), UsageError);
  CHECK_THROWS_AS(query::select_from(users).defer(orders.status), UsageError);
  CHECK_THROWS_AS(query::select(users.name).from(users).only(users.name), UsageError);
  // Another alias of the same table is another entity.
  CHECK_THROWS_AS(query::select_from(users).defer(users.as("u").bio), UsageError);
}
