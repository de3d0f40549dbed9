// Golden SQL for INSERT, UPDATE, DELETE and RETURNING, and the mistakes they refuse.
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

TEST_CASE("INSERT: one row, several rows, DEFAULT VALUES, NULL, RETURNING") {
  auto s = query::insert_into(users)
               .set(users.name, "ann")
               .set(users.tags, std::vector<std::string>{"admin"})
               .set(users.meta, Json{R"({"vip":true})"})
               .set(users.manager_id, std::nullopt)
               .render();
  CHECK(s.sql() ==
        R"(INSERT INTO "users" ("name", "tags", "meta", "manager_id") VALUES ($1, $2, $3, $4))");
  CHECK(params(s) == R"($1=ann, $2={"admin"}, $3={"vip":true}, $4=NULL)");
  CHECK(types(s) == std::vector<Oid>{0, oids::kTextArray, 0, oids::kInt8});

  s = query::insert_into(orders)
          .set(orders.user_id, 1)
          .set(orders.total, Decimal("9.50"))
          .next_row()
          .set(orders.user_id, 2)
          .set(orders.total, Decimal("1"))
          .returning(orders.id, orders.total.as("amount"))
          .render();
  CHECK(s.sql() == R"(INSERT INTO "sales"."orders" ("user_id", "total") VALUES ($1, $2), ($3, )"
                   R"($4) RETURNING "sales"."orders"."id", "sales"."orders"."total" AS "amount")");
  CHECK(params(s) == "$1=1, $2=9.50, $3=2, $4=1");

  CHECK(query::insert_into(users).returning(users).render().sql() ==
        R"(INSERT INTO "users" DEFAULT VALUES RETURNING "users"."id", "users"."name", )"
        R"("users"."age", "users"."tags", "users"."meta", "users"."legacy", )"
        R"("users"."manager_id", "users"."bio")");

  // Rows must agree; a column is set once per row; columns of other tables are refused.
  CHECK_THROWS_AS(query::insert_into(orders)
                      .set(orders.user_id, 1)
                      .next_row()
                      .set(orders.total, Decimal("1"))
                      .render(),
                  UsageError);
  CHECK_THROWS_AS(query::insert_into(orders).set(orders.user_id, 1).set(orders.user_id, 2),
                  UsageError);
  CHECK_THROWS_AS(query::insert_into(orders).set(users.name, "x"), UsageError);
  CHECK_THROWS_AS(query::insert_into(orders).set(orders.as("o").user_id, 1), UsageError);
}

TEST_CASE("UPDATE: SET values and expressions, WHERE, RETURNING") {
  auto s = query::update(users)
               .set(users.name, "bob")
               .set(users.age, users.age + 1)
               .set(users.bio, nullptr)
               .where(users.id == 7)
               .render();
  CHECK(s.sql() == R"(UPDATE "users" SET "name" = $1, "age" = "users"."age" + $2, "bio" = $3 )"
                   R"(WHERE "users"."id" = $4)");
  CHECK(params(s) == "$1=bob, $2=1, $3=NULL, $4=7");

  const shop::Users u = users.as("u");
  s = query::update(u)
          .set(u.tags, std::vector<std::string>{})
          .where(u.tags.any_("old"))
          .returning(u.id)
          .render();
  CHECK(s.sql() == R"(UPDATE "users" AS "u" SET "tags" = $1 WHERE $2 = ANY("u"."tags") )"
                   R"(RETURNING "u"."id")");
  CHECK(params(s) == "$1={}, $2=old");

  CHECK(query::update(users).set(users.age, 0).all_rows().render().sql() ==
        R"(UPDATE "users" SET "age" = $1)");
  CHECK_THROWS_AS(query::update(users).set(users.age, 0).render(), UsageError);
  // An empty dynamic condition is no condition: it never turns into "every row" silently.
  CHECK_THROWS_AS(query::update(users).set(users.age, 0).where(query::Condition()).render(),
                  UsageError);
  CHECK_THROWS_AS(query::update(users).where(users.id == 1).render(), UsageError);
}

TEST_CASE("DELETE: WHERE with subqueries, RETURNING, all_rows") {
  auto s = query::delete_from(orders)
               .where(orders.status == "void" &&
                      orders.user_id.in_(
                          query::select(users.id).from(users).where(users.meta.has("closed"))))
               .returning(orders.id)
               .render();
  CHECK(s.sql() == R"(DELETE FROM "sales"."orders" WHERE ("sales"."orders"."status" = $1) AND )"
                   R"(("sales"."orders"."user_id" IN (SELECT "users"."id" FROM "users" WHERE )"
                   R"("users"."meta" ? $2)) RETURNING "sales"."orders"."id")");
  CHECK(params(s) == "$1=void, $2=closed");
  CHECK(query::delete_from(orders).all_rows().render().sql() == R"(DELETE FROM "sales"."orders")");
  CHECK_THROWS_AS(query::delete_from(orders).render(), UsageError);
}
