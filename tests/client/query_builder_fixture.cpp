#include "query_builder_fixture.hpp"

namespace qb_test {

Shop::Shop(ouroboros::Connection& conn, std::string schema)
    : users(Users().in_schema(schema)),
      orders(Orders().in_schema(schema)),
      conn_(conn),
      schema_(std::move(schema)) {
  const std::string s = query::quote_identifier(schema_);
  conn_.execute_script(
      "DROP SCHEMA IF EXISTS " + s + " CASCADE; CREATE SCHEMA " + s + "; " + "CREATE TABLE " + s +
      ".users (id bigint PRIMARY KEY, name text NOT NULL, age int, "
      "tags text[] NOT NULL DEFAULT '{}', meta jsonb NOT NULL DEFAULT '{}', legacy json, "
      "manager_id bigint, bio text); "
      "CREATE SEQUENCE " +
      s + ".users_id START 6 OWNED BY " + s +
      ".users.id; "
      "ALTER TABLE " +
      s + ".users ALTER id SET DEFAULT nextval('" + s +
      ".users_id'); "
      "CREATE TABLE " +
      s +
      ".orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL, total numeric(10,2) NOT "
      "NULL, status text NOT NULL); "
      "INSERT INTO " +
      s +
      ".users VALUES "
      "(1, 'ann', 34, '{admin,staff}', '{\"vip\":true,\"plan\":\"pro\"}', '{\"beta\":1}', "
      "NULL, 'founder'), "
      "(2, 'bob', 28, '{staff}', '{\"plan\":\"free\"}', '{\"old\":true}', 1, 'ops'), "
      "(3, 'cid', 19, '{}', '{}', NULL, 1, NULL), "
      "(4, 'dee', 45, '{admin}', '{\"vip\":false}', '{\"beta\":2}', 2, 'sales'), "
      "(5, 'eve', NULL, '{guest}', '{\"plan\":\"pro\",\"trial\":true}', NULL, NULL, NULL); "
      "INSERT INTO " +
      s +
      ".orders (user_id, total, status) VALUES (1, 100, 'paid'), (1, 50, 'paid'), "
      "(2, 20, 'void'), (4, 300, 'paid'), (4, 5, 'pending')");
}

Shop::~Shop() {
  try {
    if (conn_.in_transaction()) conn_.execute_script("ROLLBACK");
    conn_.execute_script("DROP SCHEMA IF EXISTS " + query::quote_identifier(schema_) + " CASCADE");
  } catch (...) {
  }
}

std::vector<std::string> names(const ouroboros::Result& result) {
  std::vector<std::string> out;
  for (const ouroboros::Row& row : result) out.push_back(row.get<std::string>("name"));
  return out;
}

}  // namespace qb_test
