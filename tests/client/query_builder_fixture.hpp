// Tables and data for the query builder's integration tests: a private schema per fixture, so
// tests (and test processes) never see each other's rows.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ouroboros/query_builder.hpp"

namespace qb_test {
namespace query = ouroboros::query;

struct Users : query::Table<Users, "users"> {
  Column<std::int64_t> id = column("id", query::primary_key);
  Column<std::string> name = column("name");
  Column<std::optional<std::int32_t>> age = column("age");
  Column<std::vector<std::string>> tags = column("tags");
  Column<ouroboros::Json> meta = column("meta");
  Column<std::optional<ouroboros::Json>> legacy = column("legacy", query::json);
  Column<std::optional<std::int64_t>> manager_id = column("manager_id");
  Column<std::optional<std::string>> bio = column("bio");
};

struct Orders : query::Table<Orders, "orders"> {
  Column<std::int64_t> id = column("id", query::primary_key);
  Column<std::int64_t> user_id = column("user_id");
  Column<ouroboros::Decimal> total = column("total");
  Column<std::string> status = column("status");
};

struct User {
  std::int64_t id = 0;
  std::string name;
  query::Deferrable<std::optional<std::int32_t>> age;
  query::Deferrable<std::vector<std::string>> tags;
  query::Deferrable<std::optional<std::string>> bio;
};
OUROBOROS_FIELDS(User, id, name, age, tags, bio)

// Creates schema `name` with users (ann 1, bob 2, cid 3, dee 4, eve 5) and their orders; drops
// it on destruction.
//
//   id name age tags          meta                          legacy (json)  manager bio
//   1  ann  34  {admin,staff} {"vip":true,"plan":"pro"}     {"beta":1}     -       founder
//   2  bob  28  {staff}       {"plan":"free"}               {"old":true}   1       ops
//   3  cid  19  {}            {}                            NULL           1       NULL
//   4  dee  45  {admin}       {"vip":false}                 {"beta":2}     2       sales
//   5  eve  NULL {guest}      {"plan":"pro","trial":true}   NULL           NULL    NULL
//   orders (user, total, status): (1,100,paid) (1,50,paid) (2,20,void) (4,300,paid) (4,5,pending)
class Shop {
 public:
  Shop(ouroboros::Connection& conn, std::string schema);
  ~Shop();
  Shop(const Shop&) = delete;
  Shop& operator=(const Shop&) = delete;

  const std::string& schema() const { return schema_; }
  Users users;
  Orders orders;

 private:
  ouroboros::Connection& conn_;
  std::string schema_;
};

// The `name` column of a result, in order.
std::vector<std::string> names(const ouroboros::Result& result);

}  // namespace qb_test
