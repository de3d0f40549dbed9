// The SELECT builder.
#include <algorithm>
#include <set>

#include "ouroboros/errors.hpp"
#include "ouroboros/query/select.hpp"
#include "query_renderer.hpp"

namespace ouroboros::query {
namespace detail {

SelectItem entity_item(const TableBase& table) {
  EntityItem entity{table.identity(), table.declared_columns(),
                    std::vector<bool>(table.declared_columns().size(), true)};
  if (entity.columns.empty())
    throw UsageError("query builder: table \"" + table.identity()->name + "\" declares no column");
  return SelectItem{nullptr, std::string(), std::move(entity)};
}

SelectItem expression_item(const NodePtr& expression, std::string alias) {
  return SelectItem{require(expression), std::move(alias), std::nullopt};
}

void check_mapping(const std::vector<SelectItem>& items,
                   const std::vector<std::string_view>& fields) {
  std::set<std::string, std::less<>> known;
  for (const SelectItem& item : items) {
    if (item.entity) {
      for (const ColumnInfo& column : item.entity->columns) known.insert(column.name);
    } else if (!item.alias.empty()) {
      known.insert(item.alias);
    } else if (item.expression->kind == NodeKind::Column) {
      known.insert(item.expression->text);
    } else {
      return;  // the server names this column (e.g. "count"): nothing to check against
    }
  }
  for (std::string_view field : fields)
    if (known.find(field) == known.end())
      throw UsageError("query builder: the mapped struct's member \"" + std::string(field) +
                       "\" matches no column of the selected tables and no selected alias");
}

}  // namespace detail

Select& Select::distinct() {
  spec_.distinct = true;
  return *this;
}

Select& Select::from(const TableSource& source) {
  spec_.from = FromItem{source.identity(), source.subquery()};
  return *this;
}

Select& Select::add_join(JoinKind kind, const TableSource& target, const NodePtr& on) {
  spec_.joins.push_back(JoinItem{kind, FromItem{target.identity(), target.subquery()}, on});
  return *this;
}

Select& Select::join(const TableSource& target, const Condition& on) {
  return add_join(JoinKind::Inner, target, detail::require(on.node()));
}
Select& Select::left_join(const TableSource& target, const Condition& on) {
  return add_join(JoinKind::Left, target, detail::require(on.node()));
}
Select& Select::right_join(const TableSource& target, const Condition& on) {
  return add_join(JoinKind::Right, target, detail::require(on.node()));
}
Select& Select::full_join(const TableSource& target, const Condition& on) {
  return add_join(JoinKind::Full, target, detail::require(on.node()));
}
Select& Select::cross_join(const TableSource& target) {
  return add_join(JoinKind::Cross, target, nullptr);
}

Select& Select::where(const Condition& condition) {
  spec_.where = detail::logical_node(NodeKind::And, spec_.where, condition.node());
  return *this;
}

Select& Select::having(const Condition& condition) {
  spec_.having = detail::logical_node(NodeKind::And, spec_.having, condition.node());
  return *this;
}

Select& Select::limit(std::int64_t count) {
  spec_.limit = detail::value_node(make_value(count));
  return *this;
}
Select& Select::limit(const Expr<std::int64_t>& count) {
  spec_.limit = detail::require(count.node());
  return *this;
}
Select& Select::offset(std::int64_t count) {
  spec_.offset = detail::value_node(make_value(count));
  return *this;
}
Select& Select::offset(const Expr<std::int64_t>& count) {
  spec_.offset = detail::require(count.node());
  return *this;
}

namespace {
// The selected entity of the column's table, and the column's index in it.
std::pair<EntityItem*, std::size_t> find_column(SelectSpec& spec, const ColumnRef& column) {
  for (SelectItem& item : spec.items) {
    if (!item.entity || *item.entity->table != *column.table) continue;
    auto& columns = item.entity->columns;
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i].name == column.name) return {&*item.entity, i};
  }
  throw UsageError("query builder: column \"" + column.name +
                   "\" is not a column of a table in the select list (select the table itself "
                   "to defer its columns)");
}
}  // namespace

Select& Select::only_columns(const std::vector<ColumnRef>& columns) {
  std::vector<std::pair<EntityItem*, std::size_t>> kept;
  for (const ColumnRef& column : columns) kept.push_back(find_column(spec_, column));
  for (SelectItem& item : spec_.items) {
    if (!item.entity) continue;
    EntityItem& entity = *item.entity;
    const bool named =
        std::any_of(kept.begin(), kept.end(), [&](const auto& k) { return k.first == &entity; });
    if (!named) continue;
    for (std::size_t i = 0; i < entity.columns.size(); ++i)
      entity.loaded[i] = entity.columns[i].primary_key ||
                         std::find(kept.begin(), kept.end(), std::pair{&entity, i}) != kept.end();
  }
  return *this;
}

Select& Select::set_loaded(const std::vector<ColumnRef>& columns, bool loaded) {
  for (const ColumnRef& column : columns) {
    auto [entity, index] = find_column(spec_, column);
    if (!loaded && entity->columns[index].primary_key)
      throw UsageError("query builder: the primary key column \"" + column.name +
                       "\" is always loaded and cannot be deferred");
    entity->loaded[index] = loaded;
  }
  return *this;
}

Select& Select::undefer() {
  for (SelectItem& item : spec_.items)
    if (item.entity) std::fill(item.entity->loaded.begin(), item.entity->loaded.end(), true);
  return *this;
}

Statement Select::render() const {
  Renderer renderer;
  renderer.select(spec_);
  return std::move(renderer).finish();
}

DerivedTable Select::as(std::string_view alias) const {
  return DerivedTable(*this, alias);
}

Select::operator Subquery() const {
  return Subquery{std::make_shared<const SelectSpec>(spec_)};
}

}  // namespace ouroboros::query
