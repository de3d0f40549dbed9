// Building expression nodes, and the expression helpers that need no template.
#include <utility>

#include "ouroboros/errors.hpp"
#include "ouroboros/query/expression.hpp"
#include "ouroboros/query/identifier.hpp"

namespace ouroboros::query {
namespace detail {
namespace {

std::shared_ptr<Node> make(NodeKind kind, std::string text = {}) {
  auto node = std::make_shared<Node>();
  node->kind = kind;
  node->text = std::move(text);
  return node;
}

}  // namespace

const NodePtr& require(const NodePtr& node) {
  if (!node)
    throw UsageError("query builder: an empty expression was used where a value is needed");
  return node;
}

NodePtr column_node(std::shared_ptr<const TableIdentity> table, std::string name, bool json) {
  auto node = make(NodeKind::Column, std::move(name));
  node->table = std::move(table);
  node->json = json;
  return node;
}

NodePtr value_node(Value value) {
  auto node = make(NodeKind::Value);
  node->value = std::move(value);
  return node;
}

NodePtr placeholder_node(std::string name, Oid type) {
  if (name.empty()) throw UsageError("query builder: a placeholder needs a name");
  auto node = make(NodeKind::Placeholder, std::move(name));
  node->value.type = type;
  return node;
}

NodePtr keyword_node(std::string_view keyword) {
  return make(NodeKind::Keyword, std::string(keyword));
}

NodePtr unary_node(NodeKind kind, const NodePtr& child) {
  auto node = make(kind);
  node->children.push_back(require(child));
  return node;
}

NodePtr binary_node(std::string_view op, const NodePtr& left, const NodePtr& right) {
  auto node = make(NodeKind::Binary, std::string(op));
  node->children = {require(left), require(right)};
  return node;
}

NodePtr logical_node(NodeKind kind, const NodePtr& left, const NodePtr& right) {
  if (!left) return right;
  if (!right) return left;
  auto node = make(kind);
  for (const NodePtr& side : {left, right}) {
    if (side->kind == kind)
      node->children.insert(node->children.end(), side->children.begin(), side->children.end());
    else
      node->children.push_back(side);
  }
  return node;
}

NodePtr function_node(std::string_view name, std::vector<NodePtr> arguments, bool distinct) {
  auto node = make(NodeKind::Function, std::string(name));
  for (const NodePtr& argument : arguments) require(argument);
  node->children = std::move(arguments);
  node->distinct = distinct;
  return node;
}

NodePtr any_node(std::string_view op, const NodePtr& left, const NodePtr& array) {
  auto node = make(NodeKind::Any, std::string(op));
  node->children = {require(left), require(array)};
  return node;
}

NodePtr between_node(const NodePtr& value, const NodePtr& low, const NodePtr& high) {
  auto node = make(NodeKind::Between);
  node->children = {require(value), require(low), require(high)};
  return node;
}

NodePtr in_list_node(const NodePtr& value, std::vector<NodePtr> list) {
  auto node = make(NodeKind::InList);
  node->children.push_back(require(value));
  for (const NodePtr& item : list) node->children.push_back(require(item));
  return node;
}

NodePtr select_node(NodeKind kind, const NodePtr& left, std::shared_ptr<const SelectSpec> select) {
  if (!select) throw UsageError("query builder: an empty subquery");
  auto node = make(kind);
  if (kind == NodeKind::InSelect) node->children.push_back(require(left));
  node->select = std::move(select);
  return node;
}

NodePtr jsonb_node(const NodePtr& node) {
  if (require(node)->kind != NodeKind::Column || !node->json) return node;
  return unary_node(NodeKind::JsonbCast, node);
}

Selected selected(const NodePtr& expression, std::string_view alias) {
  check_identifier("column alias", alias);
  return Selected{require(expression), std::string(alias)};
}

}  // namespace detail

namespace {
Condition combine(const std::vector<Condition>& conditions, NodeKind kind, std::string_view empty) {
  NodePtr result;
  for (const Condition& c : conditions) result = detail::logical_node(kind, result, c.node());
  return Condition(result ? result : detail::keyword_node(empty));
}
}  // namespace

Condition all_of(const std::vector<Condition>& conditions) {
  return combine(conditions, NodeKind::And, "TRUE");
}

Condition any_of(const std::vector<Condition>& conditions) {
  return combine(conditions, NodeKind::Or, "FALSE");
}

Condition exists(const Subquery& subquery) {
  return Condition(detail::select_node(NodeKind::Exists, nullptr, subquery.spec));
}

}  // namespace ouroboros::query
