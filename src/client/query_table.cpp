// Declared tables and derived tables.
#include <algorithm>

#include "ouroboros/errors.hpp"
#include "ouroboros/query/identifier.hpp"
#include "ouroboros/query/table.hpp"

namespace ouroboros::query {

TableBase::TableBase(std::string_view name, std::string_view schema) {
  check_identifier("table", name);
  if (!schema.empty()) check_identifier("schema", schema);
  own_identity_ = std::make_shared<TableIdentity>(
      TableIdentity{std::string(schema), std::string(name), std::string()});
  identity_ = own_identity_;
}

void TableBase::rename(std::string_view schema, std::string_view alias) {
  if (!schema.empty()) check_identifier("schema", schema);
  if (!alias.empty()) check_identifier("table alias", alias);
  // Only ever called on a table just constructed by Table::as / in_schema, before its columns
  // (which share this identity) are used anywhere: renaming in place renames them all.
  own_identity_->schema = std::string(schema);
  own_identity_->alias = std::string(alias);
}

std::shared_ptr<const TableIdentity> TableBase::add_column(std::string_view name,
                                                           ColumnOptions options) {
  check_identifier("column", name);
  if (std::any_of(columns_.begin(), columns_.end(),
                  [&](const ColumnInfo& c) { return c.name == name; }))
    throw UsageError("query builder: column \"" + std::string(name) + "\" of table \"" +
                     identity_->name + "\" is declared twice");
  columns_.push_back(ColumnInfo{std::string(name), options.primary_key, options.json});
  return identity_;
}

DerivedTable::DerivedTable(const Subquery& subquery, std::string_view alias) {
  check_identifier("subquery alias", alias);
  if (!subquery.spec) throw UsageError("query builder: an empty subquery");
  identity_ = std::make_shared<const TableIdentity>(
      TableIdentity{std::string(), std::string(), std::string(alias)});
  subquery_ = subquery.spec;
}

std::string DerivedTable::checked_column(std::string_view name) {
  check_identifier("column", name);
  return std::string(name);
}

}  // namespace ouroboros::query
