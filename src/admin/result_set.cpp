#include "admin/result_set.h"

#include "protocol/messages.h"

namespace ouroboros::admin {

namespace {

// pg_type.typlen of each column type: fixed sizes, -1 for variable length.
std::int16_t type_length(ColumnType type) {
  switch (type) {
    case ColumnType::Bool:
      return 1;
    case ColumnType::Int8:
      return 8;
    case ColumnType::Int4:
      return 4;
    case ColumnType::Text:
    case ColumnType::Numeric:
      return -1;
  }
  return -1;
}

}  // namespace

ResultSet& ResultSet::text(std::string_view value) {
  cells_.emplace_back(std::string(value));
  return *this;
}

ResultSet& ResultSet::null() {
  cells_.emplace_back(std::nullopt);
  return *this;
}

ResultSet& ResultSet::text_or_null(std::string_view value) {
  return value.empty() ? null() : text(value);
}

ResultSet& ResultSet::integer(std::int64_t value) {
  return text(std::to_string(value));
}

ResultSet& ResultSet::unsigned_integer(std::uint64_t value) {
  return text(std::to_string(value));
}

ResultSet& ResultSet::boolean(bool value) {
  return text(value ? "t" : "f");
}

std::size_t ResultSet::row_count() const {
  if (columns_.empty()) return 0;
  return (cells_.size() + columns_.size() - 1) / columns_.size();
}

void ResultSet::encode(Bytes& out, std::string_view tag) const {
  namespace backend = protocol::backend;
  const auto column_count = static_cast<std::int16_t>(columns_.size());

  protocol::MessageWriter description(out, backend::kRowDescription);
  description.int16(column_count);
  for (const Column& column : columns_) {
    description.cstring(column.name)
        .int32(0)  // table OID
        .int16(0)  // column number
        .int32(static_cast<std::int32_t>(column.type))
        .int16(type_length(column.type))
        .int32(-1)  // type modifier
        .int16(0);  // text format
  }
  description.finish();

  const std::size_t rows = row_count();
  for (std::size_t row = 0; row < rows; ++row) {
    protocol::MessageWriter data_row(out, backend::kDataRow);
    data_row.int16(column_count);
    for (std::size_t column = 0; column < columns_.size(); ++column) {
      const std::size_t index = row * columns_.size() + column;
      if (index >= cells_.size() || !cells_[index]) {
        data_row.int32(-1);
      } else {
        data_row.int32(static_cast<std::int32_t>(cells_[index]->size()))
            .bytes(as_bytes(*cells_[index]));
      }
    }
    data_row.finish();
  }
  protocol::encode_command_complete(out, tag);
}

}  // namespace ouroboros::admin
