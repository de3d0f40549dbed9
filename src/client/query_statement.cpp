// Statement parameters with placeholders bound, and running built statements.
#include "ouroboros/connection.hpp"
#include "ouroboros/errors.hpp"
#include "ouroboros/query/select.hpp"
#include "ouroboros/query/statement.hpp"

namespace ouroboros::query {

Params Statement::params(const Bindings& bindings) const {
  for (std::size_t i = 0; i < bindings.size(); ++i)
    for (std::size_t j = i + 1; j < bindings.size(); ++j)
      if (bindings[i].name == bindings[j].name)
        throw UsageError("query builder: placeholder \"" + bindings[i].name + "\" is bound twice");
  Params params;
  std::size_t used = 0;
  for (const Parameter& parameter : parameters_) {
    const Value* value = &parameter.value;
    if (!parameter.placeholder.empty()) {
      value = nullptr;
      for (const Binding& binding : bindings) {
        if (binding.name != parameter.placeholder) continue;
        if (binding.value.type != parameter.value.type)
          throw UsageError("query builder: placeholder \"" + binding.name +
                           "\" is bound to a value of another type");
        value = &binding.value;
        ++used;
      }
      if (value == nullptr)
        throw UsageError("query builder: placeholder \"" + parameter.placeholder +
                         "\" is not bound");
    }
    if (value->text)
      params.append(*value->text, value->type);
    else
      params.append_null(value->type);
  }
  if (used != bindings.size()) {
    for (const Binding& binding : bindings) {
      bool found = false;
      for (const Parameter& parameter : parameters_) found |= parameter.placeholder == binding.name;
      if (!found)
        throw UsageError("query builder: \"" + binding.name +
                         "\" is bound but the statement has no such placeholder");
    }
  }
  return params;
}

namespace detail {

Result run_query(Connection& conn, const Statement& statement, const Bindings& bindings) {
  return conn.query_with(statement.sql(), statement.params(bindings));
}

std::uint64_t run_command(Connection& conn, const Statement& statement, const Bindings& bindings) {
  return conn.execute_with(statement.sql(), statement.params(bindings)).affected_rows();
}

}  // namespace detail
}  // namespace ouroboros::query
