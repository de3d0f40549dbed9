// Tables declared for the query builder's unit tests, and a helper that spells out parameters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ouroboros/query_builder.hpp"

namespace shop {
namespace query = ouroboros::query;

struct Users : query::Table<Users, "users"> {
  Column<std::int64_t> id = column("id", query::primary_key);
  Column<std::string> name = column("name");
  Column<std::int32_t> age = column("age");
  Column<std::vector<std::string>> tags = column("tags");
  Column<ouroboros::Json> meta = column("meta");
  Column<ouroboros::Json> legacy = column("legacy", query::json);
  Column<std::optional<std::int64_t>> manager_id = column("manager_id");
  Column<std::string> bio = column("bio");
};

struct Orders : query::Table<Orders, "orders", "sales"> {
  Column<std::int64_t> id = column("id", query::primary_key);
  Column<std::int64_t> user_id = column("user_id");
  Column<ouroboros::Decimal> total = column("total");
  Column<std::string> status = column("status");
};

struct User {
  std::int64_t id = 0;
  std::string name;
  query::Deferrable<std::int32_t> age;
  query::Deferrable<std::string> bio;
};
OUROBOROS_FIELDS(User, id, name, age, bio)

}  // namespace shop

namespace query_test {

// "$1=text" items joined by ", ": NULL for NULL, :name for a placeholder.
inline std::string params(const ouroboros::query::Statement& statement) {
  std::string out;
  const auto& parameters = statement.parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (i > 0) out += ", ";
    out += "$" + std::to_string(i + 1) + "=";
    if (!parameters[i].placeholder.empty())
      out += ":" + parameters[i].placeholder;
    else
      out += parameters[i].value.text ? *parameters[i].value.text : "NULL";
  }
  return out;
}

inline std::vector<ouroboros::Oid> types(const ouroboros::query::Statement& statement) {
  std::vector<ouroboros::Oid> out;
  for (const auto& parameter : statement.parameters()) out.push_back(parameter.value.type);
  return out;
}

}  // namespace query_test
