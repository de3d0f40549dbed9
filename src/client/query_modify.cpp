// INSERT, UPDATE and DELETE rendering.
#include "ouroboros/errors.hpp"
#include "ouroboros/query/modify.hpp"
#include "query_renderer.hpp"

namespace ouroboros::query {
namespace detail {

void check_own_column(const ModifySpec& spec, const NodePtr& column) {
  if (require(column)->kind != NodeKind::Column || !column->table || *column->table != *spec.table)
    throw UsageError("query builder: column \"" + column->text + "\" is not a column of \"" +
                     spec.table->name + "\" (as named in this statement)");
}

void add_assignment(ModifySpec& spec, const NodePtr& column, NodePtr value) {
  check_own_column(spec, column);
  if (spec.rows.empty()) spec.rows.emplace_back();
  auto& row = spec.rows.back();
  for (const Assignment& assignment : row)
    if (assignment.column == column->text)
      throw UsageError("query builder: column \"" + column->text + "\" is set twice");
  row.push_back(Assignment{column->text, require(value)});
}

void and_where(ModifySpec& spec, const Condition& condition) {
  spec.where = logical_node(NodeKind::And, spec.where, condition.node());
}

namespace {

void render_insert(Renderer& r, const ModifySpec& spec) {
  r.text("INSERT INTO ");
  r.table_reference(*spec.table);
  if (spec.rows.empty()) {
    r.text(" DEFAULT VALUES");
    return;
  }
  const auto& first = spec.rows.front();
  r.text(" (");
  for (std::size_t i = 0; i < first.size(); ++i) {
    if (i > 0) r.text(", ");
    r.identifier(first[i].column);
  }
  r.text(") VALUES ");
  for (std::size_t row = 0; row < spec.rows.size(); ++row) {
    const auto& values = spec.rows[row];
    if (values.empty()) throw UsageError("query builder: an INSERT row sets no column");
    bool same = values.size() == first.size();
    for (std::size_t i = 0; same && i < values.size(); ++i)
      same = values[i].column == first[i].column;
    if (!same)
      throw UsageError(
          "query builder: every INSERT row must set the same columns in the same "
          "order as the first");
    r.text(row == 0 ? "(" : ", (");
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) r.text(", ");
      r.expression(values[i].value);
    }
    r.text(")");
  }
}

void render_where(Renderer& r, const ModifySpec& spec, std::string_view statement) {
  if (spec.where) {
    r.text(" WHERE ");
    r.expression(spec.where);
  } else if (!spec.all_rows) {
    throw UsageError("query builder: " + std::string(statement) +
                     " without a condition would change every row; add where() or call "
                     "all_rows()");
  }
}

}  // namespace

Statement render_modify(const ModifySpec& spec) {
  Renderer r;
  switch (spec.kind) {
    case ModifyKind::Insert:
      render_insert(r, spec);
      break;
    case ModifyKind::Update:
      if (spec.rows.empty() || spec.rows.front().empty())
        throw UsageError("query builder: UPDATE sets no column");
      r.text("UPDATE ");
      r.table_reference(*spec.table);
      r.text(" SET ");
      for (std::size_t i = 0; i < spec.rows.front().size(); ++i) {
        const Assignment& assignment = spec.rows.front()[i];
        if (i > 0) r.text(", ");
        r.identifier(assignment.column);
        r.text(" = ");
        r.expression(assignment.value);
      }
      render_where(r, spec, "UPDATE");
      break;
    case ModifyKind::Delete:
      r.text("DELETE FROM ");
      r.table_reference(*spec.table);
      render_where(r, spec, "DELETE");
      break;
  }
  if (!spec.returning.empty()) {
    r.text(" RETURNING ");
    r.items(spec.returning);
  }
  return std::move(r).finish();
}

}  // namespace detail
}  // namespace ouroboros::query
