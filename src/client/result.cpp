// Result, Row and CommandResult: the parts that talk to libpq.
#include "ouroboros/result.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>

namespace ouroboros {

detail::ResultData::~ResultData() {
  PQclear(result);
}

// ---- Row

std::size_t Row::size() const noexcept {
  return static_cast<std::size_t>(PQnfields(data_->result));
}

void Row::check_column(std::size_t column) const {
  if (column >= size())
    throw UsageError("column index " + std::to_string(column) + " out of range: the result has " +
                     std::to_string(size()) + " columns");
}

void Row::check_width(std::size_t expected) const {
  if (expected != size())
    throw UsageError("as<...>() asks for " + std::to_string(expected) +
                     " columns but the result has " + std::to_string(size()));
}

bool Row::is_null(std::size_t column) const {
  check_column(column);
  return PQgetisnull(data_->result, static_cast<int>(row_), static_cast<int>(column)) != 0;
}

std::string_view Row::text(std::size_t column) const {
  check_column(column);
  const int r = static_cast<int>(row_), c = static_cast<int>(column);
  return std::string_view(PQgetvalue(data_->result, r, c),
                          static_cast<std::size_t>(PQgetlength(data_->result, r, c)));
}

std::string_view Row::column_name(std::size_t column) const {
  check_column(column);
  return PQfname(data_->result, static_cast<int>(column));
}

std::size_t Row::column_index(std::string_view name) const {
  return Result(data_).column_index(name);
}

void Row::throw_unexpected_null(std::size_t column) const {
  throw UnexpectedNull("column \"" + std::string(column_name(column)) + "\" (index " +
                       std::to_string(column) + ", row " + std::to_string(row_) +
                       ") is NULL; read it as std::optional<T>");
}

void Row::rethrow_with_column(std::size_t column) const {
  std::string where =
      "column \"" + std::string(column_name(column)) + "\" (row " + std::to_string(row_) + "): ";
  try {
    throw;
  } catch (const UnexpectedNull& e) {
    throw UnexpectedNull(where + e.what());
  } catch (const ConversionError& e) {
    throw ConversionError(where + e.what());
  }
}

// ---- Result

std::size_t Result::size() const noexcept {
  return data_ ? static_cast<std::size_t>(PQntuples(data_->result)) : 0;
}

std::size_t Result::columns() const noexcept {
  return data_ ? static_cast<std::size_t>(PQnfields(data_->result)) : 0;
}

std::string_view Result::column_name(std::size_t column) const {
  if (column >= columns())
    throw UsageError("column index " + std::to_string(column) + " out of range");
  return PQfname(data_->result, static_cast<int>(column));
}

std::optional<std::size_t> Result::find_column(std::string_view name) const {
  // Exact, case-sensitive match (PQfnumber would fold unquoted names to lower case).
  for (std::size_t i = 0; i < columns(); ++i)
    if (name == PQfname(data_->result, static_cast<int>(i))) return i;
  return std::nullopt;
}

std::size_t Result::column_index(std::string_view name) const {
  if (auto index = find_column(name)) return *index;
  std::string names;
  for (std::size_t i = 0; i < columns(); ++i) {
    if (i > 0) names += ", ";
    names += PQfname(data_->result, static_cast<int>(i));
  }
  throw UsageError("no column named \"" + std::string(name) +
                   "\" in the result (columns: " + names + ")");
}

Oid Result::column_type(std::size_t column) const {
  if (column >= columns())
    throw UsageError("column index " + std::to_string(column) + " out of range");
  return PQftype(data_->result, static_cast<int>(column));
}

Row Result::at(std::size_t row) const {
  if (row >= size())
    throw UsageError("row " + std::to_string(row) + " out of range: the result has " +
                     std::to_string(size()) + " rows");
  return (*this)[row];
}

Row Result::one() const {
  if (size() != 1)
    throw UsageError("expected exactly one row, the result has " + std::to_string(size()));
  return (*this)[0];
}

std::uint64_t Result::affected_rows() const {
  if (!data_) return 0;
  const char* tuples = PQcmdTuples(data_->result);
  std::uint64_t count = 0;
  std::from_chars(tuples, tuples + std::strlen(tuples), count);
  return count;
}

std::string_view Result::command_tag() const {
  return data_ ? PQcmdStatus(data_->result) : "";
}

// ---- CommandResult

const Result& CommandResult::rows() const {
  if (!has_rows_)
    throw UsageError("the statement returned no rows (command " + std::string(command_tag()) +
                     "); add RETURNING or use affected_rows()");
  return result_;
}

}  // namespace ouroboros
