// The query builder's expression tree: small immutable nodes shared by value (shared_ptr<const>),
// so conditions compose at run time and a built query can be copied and reused cheaply.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ouroboros/convert.hpp"

namespace ouroboros::query {

// A statement parameter converted to PostgreSQL text (nullopt: NULL), with its type OID.
struct Value {
  std::optional<std::string> text;
  Oid type = 0;
  friend bool operator==(const Value&, const Value&) = default;
};

// Converts a C++ value with its Conversion<T>, exactly as Connection::query's parameters are.
template <class U>
Value make_value(const U& value) {
  using Converted = ParamType<U>;
  static_assert(ToText<Converted>, "no ouroboros::Conversion<T>::to_text for this value type");
  if constexpr (Nullable<Converted>) {
    if (Conversion<Converted>::is_null(value))
      return Value{std::nullopt, Conversion<Converted>::oid};
  }
  std::string text;
  Conversion<Converted>::to_text(value, text);
  return Value{std::move(text), Conversion<Converted>::oid};
}

// How a table is named in a statement: "schema"."name" AS "alias" (schema and alias optional).
// A derived table (a subquery in FROM) has only an alias.
struct TableIdentity {
  std::string schema;
  std::string name;
  std::string alias;
  friend bool operator==(const TableIdentity&, const TableIdentity&) = default;
};

struct SelectSpec;

enum class NodeKind {
  Column,        // table + text (column name); json: a json (not jsonb) column
  Value,         // value: a parameter
  Placeholder,   // text (name), value.type: a parameter bound when the statement runs
  Keyword,       // text: TRUE, FALSE or * (fixed by the library, never user input)
  Not,           // NOT child
  IsNull,        // child IS NULL
  IsNotNull,     // child IS NOT NULL
  Binary,        // child0 text child1 (text: an operator chosen by the library)
  And,           // children joined by AND
  Or,            // children joined by OR
  Function,      // text(children), distinct: text(DISTINCT children)
  Any,           // child0 text ANY(child1)
  Between,       // child0 BETWEEN child1 AND child2
  InList,        // child0 IN (children 1..n)
  InSelect,      // child0 IN (select)
  Exists,        // EXISTS (select)
  ScalarSelect,  // (select)
  JsonbCast,     // child::jsonb
};

struct Node {
  NodeKind kind = NodeKind::Keyword;
  std::string text;
  std::shared_ptr<const TableIdentity> table;
  Value value;
  std::vector<std::shared_ptr<const Node>> children;
  std::shared_ptr<const SelectSpec> select;
  bool distinct = false;
  bool json = false;
};
using NodePtr = std::shared_ptr<const Node>;

namespace detail {
// Throws UsageError for an empty expression (a default-constructed Expr).
const NodePtr& require(const NodePtr& node);
NodePtr column_node(std::shared_ptr<const TableIdentity> table, std::string name, bool json);
NodePtr value_node(Value value);
NodePtr placeholder_node(std::string name, Oid type);
NodePtr keyword_node(std::string_view keyword);
NodePtr unary_node(NodeKind kind, const NodePtr& child);
NodePtr binary_node(std::string_view op, const NodePtr& left, const NodePtr& right);
// AND / OR of two conditions, flattened; an empty (null) operand yields the other operand.
NodePtr logical_node(NodeKind kind, const NodePtr& left, const NodePtr& right);
NodePtr function_node(std::string_view name, std::vector<NodePtr> arguments, bool distinct);
NodePtr any_node(std::string_view op, const NodePtr& left, const NodePtr& array);
NodePtr between_node(const NodePtr& value, const NodePtr& low, const NodePtr& high);
NodePtr in_list_node(const NodePtr& value, std::vector<NodePtr> list);
NodePtr select_node(NodeKind kind, const NodePtr& left, std::shared_ptr<const SelectSpec> select);
// json -> jsonb for the jsonb operators; a jsonb column or any other node is left as it is.
NodePtr jsonb_node(const NodePtr& node);
}  // namespace detail

}  // namespace ouroboros::query
