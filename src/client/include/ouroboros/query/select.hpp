// SELECT: a fluent builder that renders parameterised SQL and runs through the typed results.
//
//   auto q = query::select_from(users)               // every declared column of users
//                .where(users.tags.any_("admin") || users.meta.has("beta"))
//                .order_by(users.name.asc())
//                .limit(10);
//   std::vector<User> admins = q.all<User>(conn);
//   query::Statement s = q.render();                  // s.sql(), s.parameters()
//
// Builder methods change the Select and return it, so a query can also be built step by step;
// copies are independent and cheap (the expression nodes are shared and immutable).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "ouroboros/connection.hpp"
#include "ouroboros/query/deferrable.hpp"
#include "ouroboros/query/expression.hpp"
#include "ouroboros/query/statement.hpp"
#include "ouroboros/query/table.hpp"

namespace ouroboros::query {

// A whole declared table in a select list: its columns, each loaded or deferred.
struct EntityItem {
  std::shared_ptr<const TableIdentity> table;
  std::vector<ColumnInfo> columns;
  std::vector<bool> loaded;
};

// One select-list (or RETURNING) item: an entity, or an expression with an optional alias.
struct SelectItem {
  NodePtr expression;
  std::string alias;
  std::optional<EntityItem> entity;
};

struct FromItem {
  std::shared_ptr<const TableIdentity> table;
  std::shared_ptr<const SelectSpec> subquery;  // a derived table; table->alias names it
};

enum class JoinKind { Inner, Left, Right, Full, Cross };

struct JoinItem {
  JoinKind kind = JoinKind::Inner;
  FromItem target;
  NodePtr on;  // null for CROSS JOIN
};

struct SelectSpec {
  bool distinct = false;
  std::vector<SelectItem> items;
  std::optional<FromItem> from;
  std::vector<JoinItem> joins;
  NodePtr where;
  std::vector<NodePtr> group_by;
  NodePtr having;
  std::vector<Ordering> order_by;
  NodePtr limit;
  NodePtr offset;
};

// A column named for only() / defer() / undefer().
struct ColumnRef {
  std::shared_ptr<const TableIdentity> table;
  std::string name;
};

namespace detail {
SelectItem entity_item(const TableBase& table);
SelectItem expression_item(const NodePtr& expression, std::string alias);

template <class I>
SelectItem to_select_item(const I& item) {
  if constexpr (std::is_base_of_v<TableBase, I>)
    return entity_item(item);
  else if constexpr (std::is_same_v<I, Selected>)
    return expression_item(item.expression, item.alias);
  else {
    static_assert(IsExpr<I>, "select items are tables, expressions and expr.as(\"alias\")");
    return expression_item(item.node(), std::string());
  }
}

template <class I>
Ordering to_ordering(const I& item) {
  if constexpr (std::is_same_v<I, Ordering>) {
    return item;
  } else {
    static_assert(IsExpr<I>, "order_by() takes expressions and expr.asc() / expr.desc()");
    return Ordering{require(item.node())};
  }
}

template <class T>
std::vector<std::string_view> field_names() {
  return std::apply(
      [](const auto&... field) { return std::vector<std::string_view>{field.name...}; },
      ouroboros_fields(type_tag<T>{}));
}

// UsageError when a member of the mapped struct matches no column of the selected tables and no
// alias or column name of the selected expressions (a typo, or the wrong struct).
void check_mapping(const std::vector<SelectItem>& items,
                   const std::vector<std::string_view>& fields);

Result run_query(Connection& conn, const Statement& statement, const Bindings& bindings);
std::uint64_t run_command(Connection& conn, const Statement& statement, const Bindings& bindings);

template <class... Ts>
inline constexpr bool maps_struct = sizeof...(Ts) == 1 && (Described<Ts> && ...);

// Runs a statement that gives rows and reads them as Select::all / one describe.
template <class... Ts>
auto fetch_all(Connection& conn, const Statement& statement, const Bindings& bindings,
               const std::vector<SelectItem>& items) {
  if constexpr (maps_struct<Ts...>) {
    using T = std::tuple_element_t<0, std::tuple<Ts...>>;
    check_mapping(items, field_names<T>());
    Result result = run_query(conn, statement, bindings);
    return RowMapper<T>(result).read_all(result);
  } else {
    return run_query(conn, statement, bindings).template all<Ts...>();
  }
}
template <class... Ts>
auto fetch_one(Connection& conn, const Statement& statement, const Bindings& bindings,
               const std::vector<SelectItem>& items) {
  if constexpr (maps_struct<Ts...>) {
    using T = std::tuple_element_t<0, std::tuple<Ts...>>;
    check_mapping(items, field_names<T>());
    Result result = run_query(conn, statement, bindings);
    Row row = result.one();
    return RowMapper<T>(result).read(row);
  } else {
    return run_query(conn, statement, bindings).one().template as<Ts...>();
  }
}
// What every row-giving statement offers (SELECT, DML with RETURNING): run it for a Result, or
// read its rows as mapped structs or typed tuples. `Derived` provides render() and
// result_items() (the columns its rows have, so deferred struct members are known).
template <class Derived>
class RowQuery {
 public:
  Result fetch(Connection& conn, const Bindings& bindings = {}) const {
    return run_query(conn, self().render(), bindings);
  }
  Result fetch(Transaction& tx, const Bindings& bindings = {}) const { return fetch(tx.connection(), bindings); }
  template <class... Ts>
  auto all(Connection& conn, const Bindings& bindings = {}) const {
    return fetch_all<Ts...>(conn, self().render(), bindings, self().result_items());
  }
  template <class... Ts>
  auto all(Transaction& tx, const Bindings& bindings = {}) const {
    return all<Ts...>(tx.connection(), bindings);
  }
  // Exactly one row (UsageError otherwise).
  template <class... Ts>
  auto one(Connection& conn, const Bindings& bindings = {}) const {
    return fetch_one<Ts...>(conn, self().render(), bindings, self().result_items());
  }
  template <class... Ts>
  auto one(Transaction& tx, const Bindings& bindings = {}) const {
    return one<Ts...>(tx.connection(), bindings);
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace detail

class Select : public detail::RowQuery<Select> {
 public:
  Select() = default;

  // More select-list items: tables (every declared column), expressions, expr.as("alias").
  template <class... Items>
  Select& columns(const Items&... items) {
    (spec_.items.push_back(detail::to_select_item(items)), ...);
    return *this;
  }
  Select& distinct();
  Select& from(const TableSource& source);
  Select& join(const TableSource& target, const Condition& on);
  Select& left_join(const TableSource& target, const Condition& on);
  Select& right_join(const TableSource& target, const Condition& on);
  Select& full_join(const TableSource& target, const Condition& on);
  Select& cross_join(const TableSource& target);
  // Each call is ANDed with the earlier ones; an empty Condition adds nothing.
  Select& where(const Condition& condition);
  template <class... Exprs>
  Select& group_by(const Exprs&... expressions) {
    (spec_.group_by.push_back(detail::require(expressions.node())), ...);
    return *this;
  }
  Select& having(const Condition& condition);  // ANDed like where()
  template <class... Items>
  Select& order_by(const Items&... items) {
    (spec_.order_by.push_back(detail::to_ordering(items)), ...);
    return *this;
  }
  // LIMIT $n / OFFSET $n (parameters too; a Param<std::int64_t> makes them bindable).
  Select& limit(std::int64_t count);
  Select& limit(const Expr<std::int64_t>& count);
  Select& offset(std::int64_t count);
  Select& offset(const Expr<std::int64_t>& count);

  // Deferred loading of a selected table's columns: only() keeps just these (and the primary
  // key), defer() leaves these out, undefer() brings them back (all of them with no argument).
  template <class... Columns>
  requires(IsColumn<Columns>&&...) Select& only(const Columns&... columns) {
    return only_columns({ColumnRef{columns.table(), columns.name()}...});
  }
  template <class... Columns>
  requires(IsColumn<Columns>&&...) Select& defer(const Columns&... columns) {
    return set_loaded({ColumnRef{columns.table(), columns.name()}...}, false);
  }
  template <class... Columns>
  requires(IsColumn<Columns>&&...) Select& undefer(const Columns&... columns) {
    return set_loaded({ColumnRef{columns.table(), columns.name()}...}, true);
  }
  Select& undefer();

  // The SQL and its parameters; the same builder always renders the same text.
  Statement render() const;
  const SelectSpec& spec() const noexcept { return spec_; }
  // This query as a FROM / JOIN item: (SELECT ...) AS "alias".
  DerivedTable as(std::string_view alias) const;
  operator Subquery() const;  // NOLINT: in_(select(...)), exists(select(...))

  // Runs the query (detail::RowQuery): fetch(), and all<T>() / one<T>() for a Described struct
  // (mapped by column name, deferred members left unloaded) or column types read in order, as
  // Result::all / Row::as do.
  const std::vector<SelectItem>& result_items() const { return spec_.items; }

 private:
  Select& add_join(JoinKind kind, const TableSource& target, const NodePtr& on);
  Select& only_columns(const std::vector<ColumnRef>& columns);
  Select& set_loaded(const std::vector<ColumnRef>& columns, bool loaded);
  SelectSpec spec_;
};

// SELECT items... (tables, expressions, expr.as("alias")); add FROM with from().
template <class... Items>
Select select(const Items&... items) {
  Select s;
  s.columns(items...);
  return s;
}
// SELECT every declared column of `table` FROM table.
inline Select select_from(const TableBase& table) {
  Select s;
  s.columns(table);
  s.from(table);
  return s;
}

}  // namespace ouroboros::query
