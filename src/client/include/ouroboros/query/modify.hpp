// INSERT, UPDATE and DELETE. Without returning() they give the affected-row count; returning()
// turns them into a statement that gives rows.
//
//   query::insert_into(users).set(users.name, "ann").set(users.tags, tags).execute(conn);  // 1
//   auto ids = query::update(users).set(users.score, users.score + 1)
//                  .where(users.id.eq_any(ids)).returning(users.id).all<std::int64_t>(conn);
//   query::delete_from(users).where(users.name == "ann").execute(conn);
//
// update() and delete_from() without a (non-empty) where() refuse to run: say all_rows().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ouroboros/query/select.hpp"

namespace ouroboros::query {

struct Assignment {
  std::string column;
  NodePtr value;
};

enum class ModifyKind { Insert, Update, Delete };

struct ModifySpec {
  ModifyKind kind = ModifyKind::Insert;
  std::shared_ptr<const TableIdentity> table;
  std::vector<std::vector<Assignment>> rows;  // INSERT: the VALUES rows; UPDATE: rows[0] is SET
  NodePtr where;
  bool all_rows = false;
  std::vector<SelectItem> returning;
};

namespace detail {
Statement render_modify(const ModifySpec& spec);
// UsageError unless `column` belongs to the statement's table.
void check_own_column(const ModifySpec& spec, const NodePtr& column);
void add_assignment(ModifySpec& spec, const NodePtr& column, NodePtr value);
void and_where(ModifySpec& spec, const Condition& condition);

template <class T, class U>
NodePtr assigned_value(const U& value) {
  if constexpr (std::is_same_v<U, std::nullopt_t> || std::is_same_v<U, std::nullptr_t>)
    return value_node(Value{std::nullopt, Conversion<T>::oid});
  else
    return operand(value);
}
}  // namespace detail

template <class T, class U>
concept AssignableTo =
    ComparableWith<T, U> || std::is_same_v<U, std::nullopt_t> || std::is_same_v<U, std::nullptr_t>;

// A DML statement with RETURNING: gives rows.
class Returning : public detail::RowQuery<Returning> {
 public:
  explicit Returning(ModifySpec spec) : spec_(std::move(spec)) {}
  Statement render() const { return detail::render_modify(spec_); }
  const std::vector<SelectItem>& result_items() const { return spec_.returning; }

 private:
  ModifySpec spec_;
};

// What Insert, Update and Delete share: rendering, running for a count, RETURNING.
class Modification {
 public:
  Statement render() const { return detail::render_modify(spec_); }
  // Runs the statement; the number of rows inserted / updated / deleted.
  std::uint64_t execute(Connection& conn, const Bindings& bindings = {}) const {
    return detail::run_command(conn, render(), bindings);
  }
  std::uint64_t execute(Transaction& tx, const Bindings& bindings = {}) const {
    return execute(tx.connection(), bindings);
  }
  // RETURNING items... (tables, expressions, expr.as("alias")).
  template <class... Items>
  Returning returning(const Items&... items) const {
    ModifySpec spec = spec_;
    (spec.returning.push_back(detail::to_select_item(items)), ...);
    return Returning(std::move(spec));
  }
  const ModifySpec& spec() const noexcept { return spec_; }

 protected:
  Modification(ModifyKind kind, const TableBase& table) {
    spec_.kind = kind;
    spec_.table = table.identity();
  }
  ModifySpec spec_;
};

class Insert : public Modification {
 public:
  explicit Insert(const TableBase& table) : Modification(ModifyKind::Insert, table) {}
  // A column of the current row (VALUES (...)); a value (a parameter) or an expression.
  template <class T, class U>
  requires AssignableTo<T, U> Insert& set(const Column<T>& column, const U& value) {
    detail::add_assignment(spec_, column.node(), detail::assigned_value<T>(value));
    return *this;
  }
  // Starts another VALUES row; every row must set the same columns in the same order.
  Insert& next_row() {
    spec_.rows.emplace_back();
    return *this;
  }
};

class Update : public Modification {
 public:
  explicit Update(const TableBase& table) : Modification(ModifyKind::Update, table) {}
  template <class T, class U>
  requires AssignableTo<T, U> Update& set(const Column<T>& column, const U& value) {
    detail::add_assignment(spec_, column.node(), detail::assigned_value<T>(value));
    return *this;
  }
  Update& where(const Condition& condition) {  // ANDed with earlier where()
    detail::and_where(spec_, condition);
    return *this;
  }
  Update& all_rows() {  // no WHERE, deliberately
    spec_.all_rows = true;
    return *this;
  }
};

class Delete : public Modification {
 public:
  explicit Delete(const TableBase& table) : Modification(ModifyKind::Delete, table) {}
  Delete& where(const Condition& condition) {
    detail::and_where(spec_, condition);
    return *this;
  }
  Delete& all_rows() {
    spec_.all_rows = true;
    return *this;
  }
};

inline Insert insert_into(const TableBase& table) {
  return Insert(table);
}
inline Update update(const TableBase& table) {
  return Update(table);
}
inline Delete delete_from(const TableBase& table) {
  return Delete(table);
}

}  // namespace ouroboros::query
