// Renderer: turns the builder's nodes and specs into SQL text and the parameter list, in one pass
// and in text order, so $1..$n follow the text. Private to the client library.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ouroboros/query/select.hpp"
#include "ouroboros/query/statement.hpp"

namespace ouroboros::query {

class Renderer {
 public:
  // An expression as a whole (a select item, a SET value, a WHERE condition).
  void expression(const NodePtr& node);
  // An expression inside another one: parenthesised unless it is atomic.
  void operand(const NodePtr& node);
  void select(const SelectSpec& spec);
  void items(const std::vector<SelectItem>& items);
  // "schema"."name" AS "alias": a FROM / JOIN / INSERT INTO / UPDATE target.
  void table_reference(const TableIdentity& table);
  void identifier(std::string_view name);
  void text(std::string_view sql) { sql_ += sql; }
  void value(const Value& value);

  Statement finish() &&;

 private:
  void qualifier(const TableIdentity& table);
  void placeholder(const Node& node);
  void from_item(const FromItem& item);
  void subquery(const SelectSpec& spec);
  void list(const std::vector<NodePtr>& nodes, std::size_t first, std::string_view separator);

  std::string sql_;
  std::vector<Parameter> parameters_;
  std::map<std::string, std::size_t> placeholders_;  // name -> index in parameters_
};

}  // namespace ouroboros::query
