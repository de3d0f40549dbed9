// Declaring tables and their columns once, with the C++ type of each column.
//
//   struct Users : query::Table<Users, "users"> {
//     Column<std::int64_t> id = column("id", query::primary_key);
//     Column<std::string> name = column("name");
//     Column<std::vector<std::string>> tags = column("tags");
//     Column<Json> meta = column("meta");                    // jsonb
//     Column<Json> legacy = column("legacy", query::json);    // json: cast for jsonb operators
//   };
//   const Users users;
//   const Users boss = users.as("boss");                      // an alias, for self-joins
//   const Users tenant = users.in_schema("tenant_7");         // "tenant_7"."users"
//
// Column<T> is an Expr<T> that renders as "users"."name" (or "boss"."name").
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ouroboros/query/expression.hpp"
#include "ouroboros/query/identifier.hpp"

namespace ouroboros::query {

// A compile-time string, for table names given as template arguments.
template <std::size_t N>
struct FixedString {
  char chars[N]{};
  constexpr FixedString(const char (&text)[N]) { std::copy_n(text, N, chars); }
  constexpr std::string_view view() const { return std::string_view(chars, N - 1); }
};

struct ColumnOptions {
  bool primary_key = false;  // always selected by only(); never deferred
  bool json = false;         // a json (not jsonb) column: cast to jsonb for ?, ?&, ?|, @>, <@
};
inline constexpr ColumnOptions primary_key{.primary_key = true};
inline constexpr ColumnOptions json{.json = true};

struct ColumnInfo {
  std::string name;
  bool primary_key = false;
  bool json = false;
};

class TableBase;
template <class T>
class Column;

// What column("name") returns inside a table declaration; becomes a Column<T>.
struct ColumnSpec {
  TableBase* table;
  std::string_view name;
  ColumnOptions options;
};

// Anything that can follow FROM or JOIN: a declared table, or a subquery with an alias.
class TableSource {
 public:
  const std::shared_ptr<const TableIdentity>& identity() const noexcept { return identity_; }
  // The subquery of a derived table; null for a declared table.
  const std::shared_ptr<const SelectSpec>& subquery() const noexcept { return subquery_; }

 protected:
  TableSource() = default;
  std::shared_ptr<const TableIdentity> identity_;
  std::shared_ptr<const SelectSpec> subquery_;
};

class TableBase : public TableSource {
 public:
  template <class T>
  using Column = query::Column<T>;  // for the declarations in the derived struct
  // The declared columns, in declaration order.
  const std::vector<ColumnInfo>& declared_columns() const noexcept { return columns_; }

 protected:
  TableBase(std::string_view name, std::string_view schema);
  ColumnSpec column(std::string_view name, ColumnOptions options = {}) {
    return ColumnSpec{this, name, options};
  }
  // Names a freshly constructed table (before its columns are handed out); validated.
  void rename(std::string_view schema, std::string_view alias);

 private:
  template <class T>
  friend class query::Column;
  std::shared_ptr<const TableIdentity> add_column(std::string_view name, ColumnOptions options);
  std::shared_ptr<TableIdentity> own_identity_;  // the same object as identity_
  std::vector<ColumnInfo> columns_;
};

template <class T>
class Column : public Expr<T> {
 public:
  Column(ColumnSpec spec)  // NOLINT: implicit, so that `Column<T> x = column("x");` reads well
      : Expr<T>(detail::column_node(spec.table->add_column(spec.name, spec.options),
                                    std::string(spec.name), spec.options.json)) {}
  const std::string& name() const noexcept { return this->node_->text; }
  const std::shared_ptr<const TableIdentity>& table() const noexcept { return this->node_->table; }
};

template <class U>
concept IsColumn = requires(const U& column) {
  { column.name() } -> std::same_as<const std::string&>;
  { column.table() } -> std::same_as<const std::shared_ptr<const TableIdentity>&>;
  requires IsExpr<U>;
};

// The base of a declared table: Derived is the declaring struct (default-constructible).
template <class Derived, FixedString Name, FixedString Schema = "">
class Table : public TableBase {
 public:
  Table() : TableBase(Name.view(), Schema.view()) {}
  // The same table under an alias: its columns render as "alias"."column".
  Derived as(std::string_view alias) const {
    check_identifier("table alias", alias);
    Derived fresh;
    fresh.rename(identity_->schema, alias);
    return fresh;
  }
  // The same table in another schema ("schema"."name"), e.g. one schema per tenant.
  Derived in_schema(std::string_view schema) const {
    check_identifier("schema", schema);
    Derived fresh;
    fresh.rename(schema, identity_->alias);
    return fresh;
  }
};

// A subquery in FROM / JOIN with its alias: select(...).as("t"). Its columns are named at use.
class DerivedTable : public TableSource {
 public:
  DerivedTable(const Subquery& subquery, std::string_view alias);
  // "alias"."name", read as T.
  template <class T>
  Expr<T> column(std::string_view name) const {
    return Expr<T>(detail::column_node(identity_, checked_column(name), false));
  }

 private:
  static std::string checked_column(std::string_view name);
};

}  // namespace ouroboros::query
