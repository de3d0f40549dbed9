// Statement: what a built query renders to: SQL text with $1..$n, and the parameters in order.
#pragma once

#include <string>
#include <vector>

#include "ouroboros/params.hpp"
#include "ouroboros/query/node.hpp"

namespace ouroboros::query {

// One $n of a statement: a value fixed when the query was built, or a named placeholder
// (query::Param) whose value is bound each time the statement runs.
struct Parameter {
  Value value;              // for a placeholder: no text, value.type is the placeholder's type
  std::string placeholder;  // empty for a fixed value
};

// A value for a named placeholder: made by Param<T>::bind().
struct Binding {
  std::string name;
  Value value;
};
using Bindings = std::vector<Binding>;

class Statement {
 public:
  Statement(std::string sql, std::vector<Parameter> parameters)
      : sql_(std::move(sql)), parameters_(std::move(parameters)) {}

  const std::string& sql() const noexcept { return sql_; }
  const std::vector<Parameter>& parameters() const noexcept { return parameters_; }

  // The parameters for Connection::query_with / execute_with. Every placeholder must be bound
  // (once), and every binding must name a placeholder of the statement: else UsageError.
  Params params(const Bindings& bindings = {}) const;

 private:
  std::string sql_;
  std::vector<Parameter> parameters_;
};

}  // namespace ouroboros::query
