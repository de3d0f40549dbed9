// Typed expressions over the node tree: Expr<T> is an SQL expression whose values read as T.
// Comparisons, &&, || and ! build new expressions at run time; values always become parameters.
//
//   query::Condition c = users.age >= 18 && users.name.ilike("an%");
//   for (auto& tag : wanted) c = c || users.tags.any_(tag);   // an empty Condition means "none"
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ouroboros/convert.hpp"
#include "ouroboros/query/node.hpp"
#include "ouroboros/query/statement.hpp"

namespace ouroboros::query {

struct ExprTag {};  // the base of every Expr<T>
template <class T>
class Expr;
// A boolean expression. Default-constructed it is empty ("no condition"): `empty && c` and
// `empty || c` are c, and where(empty) adds nothing.
using Condition = Expr<bool>;

// A SELECT used inside another statement (Select converts to it): IN (...), EXISTS (...),
// scalar<T>(...), or a FROM item with Select::as(alias).
struct Subquery {
  std::shared_ptr<const SelectSpec> spec;
};

template <class U>
concept IsExpr = std::derived_from<std::remove_cvref_t<U>, ExprTag>;

namespace detail {
template <class U>
struct PlainType {
  using type = U;
};
template <class U>
struct PlainType<std::optional<U>> : PlainType<U> {};
template <>
struct PlainType<const char*> {
  using type = std::string;
};
template <>
struct PlainType<char*> {
  using type = std::string;
};
template <>
struct PlainType<std::string_view> {
  using type = std::string;
};
template <class U>
struct PlainType<std::vector<U>> {
  using type = std::vector<typename PlainType<std::decay_t<U>>::type>;
};
// The value family of a C++ type: optional removed, every string type as std::string.
template <class U>
using plain_t = typename PlainType<std::decay_t<U>>::type;

template <class U, bool = IsExpr<U>>
struct OperandType {
  using type = std::decay_t<U>;
};
template <class U>
struct OperandType<U, true> {
  using type = typename std::remove_cvref_t<U>::value_type;
};
// The SQL value type of an operand: V for an Expr<V>, the C++ type of a value.
template <class U>
using operand_t = typename OperandType<U>::type;

template <class U>
inline constexpr bool is_vector = false;
template <class U>
inline constexpr bool is_vector<std::vector<U>> = true;

template <class U>
concept Number = std::same_as<U, Decimal> ||
    (std::is_arithmetic_v<U> && !std::same_as<U, bool> && !std::same_as<U, char> &&
     !std::same_as<U, char8_t> && !std::same_as<U, char16_t> && !std::same_as<U, char32_t> &&
     !std::same_as<U, wchar_t>);

template <class A, class B>
constexpr bool same_family() {
  using PA = plain_t<A>;
  using PB = plain_t<B>;
  if constexpr (std::same_as<PA, PB>)
    return true;
  else if constexpr (Number<PA> && Number<PB>)
    return true;
  else if constexpr (is_vector<PA> && is_vector<PB>)
    return same_family<typename PA::value_type, typename PB::value_type>();
  else
    return false;
}

// An operand as a node: an expression's own node, or a value as a parameter.
template <class U>
NodePtr operand(const U& value) {
  if constexpr (IsExpr<U>)
    return require(value.node());
  else
    return value_node(make_value(value));
}
}  // namespace detail

// U (a value or an Expr) can be compared with an Expr<T>: same type up to optional and string
// flavour, any two numbers, or arrays of such.
template <class T, class U>
concept ComparableWith = detail::same_family<T, detail::operand_t<U>>();
template <class T>
concept TextType = std::same_as<detail::plain_t<T>, std::string>;
template <class T>
concept ArrayType =
    detail::is_vector<detail::plain_t<T>> && !std::same_as<detail::plain_t<T>, Bytes>;
template <class T>
concept JsonType = std::same_as<detail::plain_t<T>, Json>;
template <class T>
concept NumberType = detail::Number<detail::plain_t<T>>;

// ORDER BY item: expr (the server's default order), expr.asc(), expr.desc(), optionally
// followed by .nulls_first() / .nulls_last().
struct Ordering {
  enum class Direction { Default, Ascending, Descending };
  enum class Nulls { Default, First, Last };
  NodePtr expression;
  Direction direction = Direction::Default;
  Nulls nulls = Nulls::Default;
  Ordering nulls_first() const { return Ordering{expression, direction, Nulls::First}; }
  Ordering nulls_last() const { return Ordering{expression, direction, Nulls::Last}; }
};

// A select-list item with a column alias: expr.as("name").
struct Selected {
  NodePtr expression;
  std::string alias;
};

namespace detail {
Selected selected(const NodePtr& expression, std::string_view alias);  // validates the alias
}  // namespace detail

template <class T>
class Expr : public ExprTag {
 public:
  using value_type = T;

  Expr() = default;
  explicit Expr(NodePtr node) : node_(std::move(node)) {}
  const NodePtr& node() const noexcept { return node_; }
  bool empty() const noexcept { return node_ == nullptr; }

  Condition is_null() const { return Condition(detail::unary_node(NodeKind::IsNull, node_)); }
  Condition is_not_null() const {
    return Condition(detail::unary_node(NodeKind::IsNotNull, node_));
  }
  // x IN ($1, $2, ...): one parameter per value; an empty list is FALSE.
  template <class U>
  requires ComparableWith<T, U> Condition in_(const std::vector<U>& values)
  const {
    std::vector<NodePtr> list;
    for (const U& value : values) list.push_back(detail::operand(value));
    return Condition(detail::in_list_node(node_, std::move(list)));
  }
  // x IN (SELECT ...)
  Condition in_(const Subquery& subquery) const {
    return Condition(detail::select_node(NodeKind::InSelect, node_, subquery.spec));
  }
  template <class L, class H>
  requires ComparableWith<T, L> && ComparableWith<T, H> Condition between(const L& low,
                                                                          const H& high)
  const {
    return Condition(detail::between_node(node_, detail::operand(low), detail::operand(high)));
  }
  template <class U>
  requires TextType<T> && ComparableWith<T, U> Condition like(const U& pattern)
  const { return binary("LIKE", pattern); }
  template <class U>
  requires TextType<T> && ComparableWith<T, U> Condition ilike(const U& pattern)
  const { return binary("ILIKE", pattern); }
  // x = ANY($n): the values travel as one array parameter (one statement for any list length).
  template <class U>
  requires ComparableWith<T, U> Condition eq_any(const std::vector<U>& values)
  const { return Condition(detail::any_node("=", node_, detail::value_node(make_value(values)))); }
  // Array column: $n = ANY(column), rows whose array holds `value`.
  template <class U>
  requires ArrayType<T> && ComparableWith<typename detail::plain_t<T>::value_type, U> Condition
  any_(const U& value)
  const { return Condition(detail::any_node("=", detail::operand(value), detail::require(node_))); }
  // Arrays and jsonb: @> (holds every element / the document), <@ (the reverse).
  template <class U>
  requires(ArrayType<T> || JsonType<T>) && ComparableWith<T, U> Condition
      contains(const U& other) const {
    return jsonb_binary("@>", other);
  }
  template <class U>
  requires(ArrayType<T> || JsonType<T>) && ComparableWith<T, U> Condition
      contained_by(const U& other) const {
    return jsonb_binary("<@", other);
  }
  // Arrays: && (at least one element in common).
  template <class U>
  requires ArrayType<T> && ComparableWith<T, U> Condition overlaps(const U& other)
  const { return binary("&&", other); }
  // jsonb ? key, ?& keys (all present), ?| keys (any present). A json column is cast to jsonb.
  Condition has(std::string_view key) const requires JsonType<T> {
    return jsonb_binary("?", std::string(key));
  }
  Condition has_all(const std::vector<std::string>& keys) const requires JsonType<T> {
    return jsonb_binary("?&", keys);
  }
  Condition has_any(const std::vector<std::string>& keys) const requires JsonType<T> {
    return jsonb_binary("?|", keys);
  }

  Ordering asc() const { return Ordering{detail::require(node_), Ordering::Direction::Ascending}; }
  Ordering desc() const {
    return Ordering{detail::require(node_), Ordering::Direction::Descending};
  }
  Selected as(std::string_view alias) const { return detail::selected(node_, alias); }

 protected:
  NodePtr node_;

 private:
  template <class U>
  Condition binary(std::string_view op, const U& right) const {
    return Condition(detail::binary_node(op, node_, detail::operand(right)));
  }
  template <class U>
  Condition jsonb_binary(std::string_view op, const U& right) const {
    return Condition(detail::binary_node(op, detail::jsonb_node(node_), detail::operand(right)));
  }
};

namespace detail {
// The value type of a binary expression with at least one Expr operand: the left one's if it is
// an Expr, else the right one's.
template <class L, class R>
using expr_value_t = std::conditional_t<IsExpr<L>, operand_t<L>, operand_t<R>>;
template <class L>
struct Arithmetic {  // Arithmetic<L>::with<R>: the Expr an arithmetic operator gives
  template <class R>
  using with = Expr<expr_value_t<L, R>>;
};
}  // namespace detail

// One template per operator with both operands deduced as they are, so that the reversed
// candidates C++20 considers for == never match better than the written order.
#define OUROBOROS_QUERY_BINARY(op, sql, Requirement, Returned)                                \
  template <class L, class R>                                                                 \
  requires(IsExpr<L> || IsExpr<R>) &&                                                         \
      Requirement Returned operator op(const L& left, const R& right) {                       \
    return Returned(detail::binary_node(sql, detail::operand(left), detail::operand(right))); \
  }

OUROBOROS_QUERY_BINARY(==, "=", (ComparableWith<detail::operand_t<L>, R>), Condition)
OUROBOROS_QUERY_BINARY(!=, "<>", (ComparableWith<detail::operand_t<L>, R>), Condition)
OUROBOROS_QUERY_BINARY(<, "<", (ComparableWith<detail::operand_t<L>, R>), Condition)
OUROBOROS_QUERY_BINARY(<=, "<=", (ComparableWith<detail::operand_t<L>, R>), Condition)
OUROBOROS_QUERY_BINARY(>, ">", (ComparableWith<detail::operand_t<L>, R>), Condition)
OUROBOROS_QUERY_BINARY(>=, ">=", (ComparableWith<detail::operand_t<L>, R>), Condition)
#define OUROBOROS_QUERY_ARITHMETIC(op)                                                     \
  OUROBOROS_QUERY_BINARY(                                                                  \
      op, #op,                                                                             \
      (NumberType<detail::expr_value_t<L, R>> && ComparableWith<detail::operand_t<L>, R>), \
      typename detail::Arithmetic<L>::template with<R>)
OUROBOROS_QUERY_ARITHMETIC(+)
OUROBOROS_QUERY_ARITHMETIC(-)
OUROBOROS_QUERY_ARITHMETIC(*)
OUROBOROS_QUERY_ARITHMETIC(/)
#undef OUROBOROS_QUERY_ARITHMETIC
#undef OUROBOROS_QUERY_BINARY

inline Condition operator&&(const Condition& left, const Condition& right) {
  return Condition(detail::logical_node(NodeKind::And, left.node(), right.node()));
}
inline Condition operator||(const Condition& left, const Condition& right) {
  return Condition(detail::logical_node(NodeKind::Or, left.node(), right.node()));
}
inline Condition operator!(const Condition& condition) {
  return Condition(detail::unary_node(NodeKind::Not, condition.node()));
}
// Every condition (TRUE when there is none) / at least one (FALSE when there is none); empty
// conditions in the list are skipped.
Condition all_of(const std::vector<Condition>& conditions);
Condition any_of(const std::vector<Condition>& conditions);

// EXISTS (SELECT ...) and a scalar subquery (SELECT ...) read as T.
Condition exists(const Subquery& subquery);
template <class T>
Expr<T> scalar(const Subquery& subquery) {
  return Expr<T>(detail::select_node(NodeKind::ScalarSelect, nullptr, subquery.spec));
}

// Aggregates. The value types are for composing (having(sum(x) > 10)); read NULL-able
// aggregates (sum/avg/min/max over no rows) as std::optional.
namespace detail {
template <class T>
using sum_t = std::conditional_t<
    std::is_floating_point_v<plain_t<T>>, double,
    std::conditional_t<std::same_as<plain_t<T>, Decimal>, Decimal, std::int64_t>>;
template <class T>
using avg_t = std::conditional_t<std::is_floating_point_v<plain_t<T>>, double, Decimal>;
}  // namespace detail
inline Expr<std::int64_t> count() {
  return Expr<std::int64_t>(detail::function_node("count", {detail::keyword_node("*")}, false));
}
template <class T>
Expr<std::int64_t> count(const Expr<T>& e) {
  return Expr<std::int64_t>(detail::function_node("count", {e.node()}, false));
}
template <class T>
Expr<std::int64_t> count_distinct(const Expr<T>& e) {
  return Expr<std::int64_t>(detail::function_node("count", {e.node()}, true));
}
template <class T>
requires NumberType<T> Expr<detail::sum_t<T>> sum(const Expr<T>& e) {
  return Expr<detail::sum_t<T>>(detail::function_node("sum", {e.node()}, false));
}
template <class T>
requires NumberType<T> Expr<detail::avg_t<T>> avg(const Expr<T>& e) {
  return Expr<detail::avg_t<T>>(detail::function_node("avg", {e.node()}, false));
}
template <class T>
Expr<T> min(const Expr<T>& e) {
  return Expr<T>(detail::function_node("min", {e.node()}, false));
}
template <class T>
Expr<T> max(const Expr<T>& e) {
  return Expr<T>(detail::function_node("max", {e.node()}, false));
}

// A named placeholder: the query is built once and run with different values.
//
//   query::Param<std::int64_t> min_age("min_age");
//   auto adults = query::select_from(users).where(users.age >= min_age);
//   adults.all<User>(conn, {min_age.bind(18)});
template <class T>
class Param : public Expr<T> {
 public:
  static_assert(ToText<T>, "no ouroboros::Conversion<T>::to_text for this placeholder type");
  explicit Param(std::string name)
      : Expr<T>(detail::placeholder_node(name, Conversion<T>::oid)), name_(std::move(name)) {}
  template <class U>
  requires std::constructible_from<T, const U&> Binding bind(const U& value)
  const { return Binding{name_, make_value(T(value))}; }
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
};

}  // namespace ouroboros::query
