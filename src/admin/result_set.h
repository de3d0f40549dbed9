#pragma once
// A small table of text values and its encoding as the simple query protocol sends it:
// RowDescription, one DataRow per row, CommandComplete.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace ouroboros::admin {

// PostgreSQL type OIDs of the columns the console sends (always in text format).
enum class ColumnType : std::int32_t {
  Bool = 16,  // 't' / 'f'
  Int8 = 20,
  Int4 = 23,
  Text = 25,
  Numeric = 1700,
};

struct Column {
  std::string_view name;  // a string literal: columns are declared, not computed
  ColumnType type = ColumnType::Text;
};

class ResultSet {
 public:
  explicit ResultSet(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Appends the next cell, filling rows left to right, top to bottom.
  ResultSet& text(std::string_view value);
  ResultSet& null();
  ResultSet& text_or_null(std::string_view value);  // NULL when empty
  ResultSet& integer(std::int64_t value);
  ResultSet& unsigned_integer(std::uint64_t value);
  ResultSet& boolean(bool value);

  const std::vector<Column>& columns() const { return columns_; }
  std::size_t row_count() const;

  // Appends RowDescription, the DataRows and CommandComplete(tag). A last row left incomplete
  // (a bug) is padded with NULLs so the client still receives well-formed rows.
  void encode(Bytes& out, std::string_view tag) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::optional<std::string>> cells_;  // row-major
};

}  // namespace ouroboros::admin
