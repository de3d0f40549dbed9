// Rendering expressions and SELECT statements.
#include "query_renderer.hpp"

#include "ouroboros/errors.hpp"
#include "ouroboros/query/identifier.hpp"

namespace ouroboros::query {
namespace {

bool is_atomic(const Node& node) {
  switch (node.kind) {
    case NodeKind::Column:
    case NodeKind::Value:
    case NodeKind::Placeholder:
    case NodeKind::Keyword:
    case NodeKind::Function:
    case NodeKind::Exists:
    case NodeKind::ScalarSelect:
    case NodeKind::JsonbCast:
      return true;
    default:
      return false;
  }
}

std::string_view join_keyword(JoinKind kind) {
  switch (kind) {
    case JoinKind::Inner:
      return " JOIN ";
    case JoinKind::Left:
      return " LEFT JOIN ";
    case JoinKind::Right:
      return " RIGHT JOIN ";
    case JoinKind::Full:
      return " FULL JOIN ";
    case JoinKind::Cross:
      return " CROSS JOIN ";
  }
  return " JOIN ";
}

}  // namespace

void Renderer::identifier(std::string_view name) {
  sql_ += quote_identifier(name);
}

void Renderer::qualifier(const TableIdentity& table) {
  if (!table.alias.empty()) {
    identifier(table.alias);
    return;
  }
  if (!table.schema.empty()) {
    identifier(table.schema);
    sql_ += '.';
  }
  identifier(table.name);
}

void Renderer::table_reference(const TableIdentity& table) {
  if (!table.schema.empty()) {
    identifier(table.schema);
    sql_ += '.';
  }
  identifier(table.name);
  if (!table.alias.empty()) {
    sql_ += " AS ";
    identifier(table.alias);
  }
}

void Renderer::value(const Value& value) {
  parameters_.push_back(Parameter{value, {}});
  sql_ += '$';
  sql_ += std::to_string(parameters_.size());
}

void Renderer::placeholder(const Node& node) {
  auto [at, added] = placeholders_.try_emplace(node.text, parameters_.size());
  if (added) {
    parameters_.push_back(Parameter{Value{std::nullopt, node.value.type}, node.text});
  } else if (parameters_[at->second].value.type != node.value.type) {
    throw UsageError("query builder: placeholder \"" + node.text +
                     "\" is used with two different types");
  }
  sql_ += '$';
  sql_ += std::to_string(at->second + 1);
}

void Renderer::list(const std::vector<NodePtr>& nodes, std::size_t first,
                    std::string_view separator) {
  for (std::size_t i = first; i < nodes.size(); ++i) {
    if (i > first) sql_ += separator;
    expression(nodes[i]);
  }
}

void Renderer::operand(const NodePtr& node) {
  if (is_atomic(*detail::require(node))) {
    expression(node);
  } else {
    sql_ += '(';
    expression(node);
    sql_ += ')';
  }
}

void Renderer::subquery(const SelectSpec& spec) {
  sql_ += '(';
  select(spec);
  sql_ += ')';
}

void Renderer::expression(const NodePtr& pointer) {
  const Node& node = *detail::require(pointer);
  const auto& c = node.children;
  switch (node.kind) {
    case NodeKind::Column:
      qualifier(*node.table);
      sql_ += '.';
      identifier(node.text);
      return;
    case NodeKind::Value:
      value(node.value);
      return;
    case NodeKind::Placeholder:
      placeholder(node);
      return;
    case NodeKind::Keyword:
      sql_ += node.text;
      return;
    case NodeKind::Not:
      sql_ += "NOT ";
      operand(c[0]);
      return;
    case NodeKind::IsNull:
    case NodeKind::IsNotNull:
      operand(c[0]);
      sql_ += node.kind == NodeKind::IsNull ? " IS NULL" : " IS NOT NULL";
      return;
    case NodeKind::Binary:
      operand(c[0]);
      sql_ += ' ';
      sql_ += node.text;
      sql_ += ' ';
      operand(c[1]);
      return;
    case NodeKind::And:
    case NodeKind::Or:
      for (std::size_t i = 0; i < c.size(); ++i) {
        if (i > 0) sql_ += node.kind == NodeKind::And ? " AND " : " OR ";
        operand(c[i]);
      }
      return;
    case NodeKind::Function:
      sql_ += node.text;
      sql_ += node.distinct ? "(DISTINCT " : "(";
      list(c, 0, ", ");
      sql_ += ')';
      return;
    case NodeKind::Any:
      operand(c[0]);
      sql_ += ' ';
      sql_ += node.text;
      sql_ += " ANY(";
      expression(c[1]);
      sql_ += ')';
      return;
    case NodeKind::Between:
      operand(c[0]);
      sql_ += " BETWEEN ";
      operand(c[1]);
      sql_ += " AND ";
      operand(c[2]);
      return;
    case NodeKind::InList:
      if (c.size() == 1) {  // x IN () is not SQL; no value is in an empty list
        sql_ += "FALSE";
        return;
      }
      operand(c[0]);
      sql_ += " IN (";
      list(c, 1, ", ");
      sql_ += ')';
      return;
    case NodeKind::InSelect:
      operand(c[0]);
      sql_ += " IN ";
      subquery(*node.select);
      return;
    case NodeKind::Exists:
      sql_ += "EXISTS ";
      subquery(*node.select);
      return;
    case NodeKind::ScalarSelect:
      subquery(*node.select);
      return;
    case NodeKind::JsonbCast:
      operand(c[0]);
      sql_ += "::jsonb";
      return;
  }
}

void Renderer::items(const std::vector<SelectItem>& items) {
  bool first = true;
  auto separate = [&] {
    if (!first) sql_ += ", ";
    first = false;
  };
  for (const SelectItem& item : items) {
    if (item.entity) {
      const EntityItem& entity = *item.entity;
      for (std::size_t i = 0; i < entity.columns.size(); ++i) {
        if (!entity.loaded[i]) continue;
        separate();
        qualifier(*entity.table);
        sql_ += '.';
        identifier(entity.columns[i].name);
      }
      continue;
    }
    separate();
    expression(item.expression);
    if (!item.alias.empty()) {
      sql_ += " AS ";
      identifier(item.alias);
    }
  }
  if (first) throw UsageError("query builder: nothing to select (every column was left out)");
}

void Renderer::from_item(const FromItem& item) {
  if (item.subquery) {
    subquery(*item.subquery);
    sql_ += " AS ";
    identifier(item.table->alias);
  } else {
    table_reference(*item.table);
  }
}

void Renderer::select(const SelectSpec& spec) {
  sql_ += spec.distinct ? "SELECT DISTINCT " : "SELECT ";
  items(spec.items);
  if (spec.from) {
    sql_ += " FROM ";
    from_item(*spec.from);
  } else if (!spec.joins.empty()) {
    throw UsageError("query builder: join() without from()");
  }
  for (const JoinItem& join : spec.joins) {
    sql_ += join_keyword(join.kind);
    from_item(join.target);
    if (join.on) {
      sql_ += " ON ";
      expression(join.on);
    }
  }
  if (spec.where) {
    sql_ += " WHERE ";
    expression(spec.where);
  }
  if (!spec.group_by.empty()) {
    sql_ += " GROUP BY ";
    list(spec.group_by, 0, ", ");
  }
  if (spec.having) {
    sql_ += " HAVING ";
    expression(spec.having);
  }
  for (std::size_t i = 0; i < spec.order_by.size(); ++i) {
    const Ordering& order = spec.order_by[i];
    sql_ += i == 0 ? " ORDER BY " : ", ";
    expression(order.expression);
    if (order.direction == Ordering::Direction::Ascending) sql_ += " ASC";
    if (order.direction == Ordering::Direction::Descending) sql_ += " DESC";
    if (order.nulls == Ordering::Nulls::First) sql_ += " NULLS FIRST";
    if (order.nulls == Ordering::Nulls::Last) sql_ += " NULLS LAST";
  }
  if (spec.limit) {
    sql_ += " LIMIT ";
    expression(spec.limit);
  }
  if (spec.offset) {
    sql_ += " OFFSET ";
    expression(spec.offset);
  }
}

Statement Renderer::finish() && {
  return Statement(std::move(sql_), std::move(parameters_));
}

}  // namespace ouroboros::query
