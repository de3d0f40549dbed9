// Result, Row and CommandResult: typed access to what a statement returned.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "ouroboros/convert.hpp"
#include "ouroboros/errors.hpp"
#include "ouroboros/fields.hpp"

struct pg_result;  // libpq's PGresult

namespace ouroboros {

class Result;
template <class... Ts>
class TypedRows;

namespace detail {
// Owns the PGresult; shared by the Result and every Row taken from it.
struct ResultData {
  explicit ResultData(pg_result* result) : result(result) {}
  ~ResultData();
  ResultData(const ResultData&) = delete;
  ResultData& operator=(const ResultData&) = delete;
  pg_result* result;
};
}  // namespace detail

// One row of a Result. Cheap to copy; keeps the result's data alive.
class Row {
 public:
  std::size_t size() const noexcept;  // number of columns
  std::size_t index() const noexcept { return row_; }

  bool is_null(std::size_t column) const;
  bool is_null(std::string_view column) const { return is_null(column_index(column)); }
  // The raw text of a value ("" for NULL).
  std::string_view text(std::size_t column) const;
  std::string_view column_name(std::size_t column) const;
  std::size_t column_index(std::string_view name) const;  // throws UsageError if absent

  // The value converted to T. NULL needs a nullable T (std::optional<U>); otherwise UnexpectedNull
  // names the column. Conversion failures throw ConversionError naming the column.
  template <class T>
  T get(std::size_t column) const {
    check_column(column);
    if (is_null(column)) {
      if constexpr (Nullable<T>)
        return Conversion<T>::null();
      else
        throw_unexpected_null(column);
    }
    static_assert(FromText<T>, "no ouroboros::Conversion<T>::from_text for this type");
    try {
      return Conversion<T>::from_text(text(column));
    } catch (const ConversionError&) {
      rethrow_with_column(column);
    }
  }
  template <class T>
  T get(std::string_view column) const {
    return get<T>(column_index(column));
  }

  // as<T>():     T read from the only column, or a Described struct mapped by column name.
  // as<A, B...>: std::tuple<A, B...> read from the columns in order (for structured bindings).
  template <class... Ts>
  requires(sizeof...(Ts) >= 1) auto as() const {
    if constexpr (sizeof...(Ts) == 1 && (Described<Ts> && ...)) {
      return read_struct<Ts...>();
    } else {
      check_width(sizeof...(Ts));
      return read_columns<Ts...>(std::index_sequence_for<Ts...>{});
    }
  }

 private:
  friend class Result;
  template <class T>
  friend class StructReader;
  Row(std::shared_ptr<const detail::ResultData> data, std::size_t row)
      : data_(std::move(data)), row_(row) {}

  template <class... Ts, std::size_t... I>
  auto read_columns(std::index_sequence<I...>) const {
    if constexpr (sizeof...(Ts) == 1)
      return get<Ts...>(0);
    else
      return std::tuple<Ts...>(get<Ts>(I)...);
  }
  template <class T>
  T read_struct() const;

  void check_column(std::size_t column) const;
  void check_width(std::size_t expected) const;
  [[noreturn]] void throw_unexpected_null(std::size_t column) const;
  [[noreturn]] void rethrow_with_column(std::size_t column) const;

  std::shared_ptr<const detail::ResultData> data_;
  std::size_t row_ = 0;
};

// Reads Described structs from rows, looking the columns up once per result.
template <class T>
class StructReader {
 public:
  explicit StructReader(const Row& first) : indices_(lookup(first)) {}
  StructReader(const Result& result);

  T read(const Row& row) const {
    T value{};
    std::size_t i = 0;
    std::apply(
        [&](const auto&... field) {
          ((value.*(field.member) = read_member(row, field, indices_[i++])), ...);
        },
        ouroboros_fields(type_tag<T>{}));
    return value;
  }

 private:
  static constexpr std::size_t kCount =
      std::tuple_size_v<decltype(ouroboros_fields(type_tag<T>{}))>;
  static std::array<std::size_t, kCount> lookup(const Row& row) {
    std::array<std::size_t, kCount> indices{};
    std::size_t i = 0;
    std::apply([&](const auto&... field) { ((indices[i++] = row.column_index(field.name)), ...); },
               ouroboros_fields(type_tag<T>{}));
    return indices;
  }
  template <class Field>
  static auto read_member(const Row& row, const Field& field, std::size_t column) {
    (void)field;
    using Member = std::remove_cvref_t<decltype(std::declval<T&>().*(field.member))>;
    return row.template get<Member>(column);
  }
  std::array<std::size_t, kCount> indices_;
};

template <class T>
T Row::read_struct() const {
  return StructReader<T>(*this).read(*this);
}

// The rows a statement returned. Cheap to copy (shared, immutable).
class Result {
 public:
  class iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = Row;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Row;
    iterator() = default;
    iterator(const Result* result, std::size_t row) : result_(result), row_(row) {}
    Row operator*() const { return (*result_)[row_]; }
    iterator& operator++() { return ++row_, *this; }
    iterator operator++(int) { return iterator(result_, row_++); }
    iterator& operator--() { return --row_, *this; }
    iterator operator--(int) { return iterator(result_, row_--); }
    iterator& operator+=(difference_type n) { return row_ += n, *this; }
    iterator& operator-=(difference_type n) { return row_ -= n, *this; }
    iterator operator+(difference_type n) const { return iterator(result_, row_ + n); }
    friend iterator operator+(difference_type n, const iterator& it) { return it + n; }
    iterator operator-(difference_type n) const { return iterator(result_, row_ - n); }
    difference_type operator-(const iterator& other) const {
      return static_cast<difference_type>(row_) - static_cast<difference_type>(other.row_);
    }
    Row operator[](difference_type n) const { return *(*this + n); }
    bool operator==(const iterator& other) const { return row_ == other.row_; }
    auto operator<=>(const iterator& other) const { return row_ <=> other.row_; }

   private:
    const Result* result_ = nullptr;
    std::size_t row_ = 0;
  };

  Result() = default;
  explicit Result(std::shared_ptr<const detail::ResultData> data) : data_(std::move(data)) {}

  std::size_t size() const noexcept;  // rows
  bool empty() const noexcept { return size() == 0; }
  std::size_t columns() const noexcept;
  std::string_view column_name(std::size_t column) const;
  std::optional<std::size_t> find_column(std::string_view name) const;
  std::size_t column_index(std::string_view name) const;  // throws UsageError if absent
  Oid column_type(std::size_t column) const;

  Row operator[](std::size_t row) const { return Row(data_, row); }
  Row at(std::size_t row) const;  // throws UsageError when out of range
  Row one() const;                // the only row; UsageError unless there is exactly one
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, size()); }

  // Each row as Row::as<Ts...>() reads it: for (auto [id, name] : r.as<int, std::string>()).
  template <class... Ts>
  TypedRows<Ts...> as() const;
  // The same, collected into a std::vector.
  template <class... Ts>
  auto all() const;

  // Rows inserted/updated/deleted/selected per the command tag (0 when it carries no count).
  std::uint64_t affected_rows() const;
  std::string_view command_tag() const;
  pg_result* native_handle() const noexcept { return data_ ? data_->result : nullptr; }

 private:
  std::shared_ptr<const detail::ResultData> data_;
};

// Iterating as<Ts...>(): each element is what Row::as<Ts...>() returns.
template <class... Ts>
class TypedRows {
 public:
  using value_type = decltype(std::declval<Row>().as<Ts...>());
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = TypedRows::value_type;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const TypedRows* typed, std::size_t row) : typed_(typed), row_(row) {}
    value_type operator*() const { return typed_->read(row_); }
    iterator& operator++() { return ++row_, *this; }
    iterator operator++(int) { return iterator(typed_, row_++); }
    bool operator==(const iterator& other) const { return row_ == other.row_; }

   private:
    const TypedRows* typed_ = nullptr;
    std::size_t row_ = 0;
  };
  explicit TypedRows(const Result& result) : result_(result) {
    if constexpr (kStruct) {
      if (!result.empty()) reader_.emplace(result[0]);
    }
  }
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, result_.size()); }
  std::size_t size() const { return result_.size(); }
  value_type read(std::size_t row) const {
    if constexpr (kStruct)
      return reader_->read(result_[row]);
    else
      return result_[row].template as<Ts...>();
  }

 private:
  static constexpr bool kStruct = sizeof...(Ts) == 1 && (Described<Ts> && ...);
  template <bool IsStruct, class... Us>
  struct ReaderFor {
    struct type {};
  };
  template <class U>
  struct ReaderFor<true, U> {
    using type = StructReader<U>;
  };
  Result result_;
  std::optional<typename ReaderFor<kStruct, Ts...>::type> reader_;
};

template <class... Ts>
TypedRows<Ts...> Result::as() const {
  return TypedRows<Ts...>(*this);
}

template <class... Ts>
auto Result::all() const {
  std::vector<typename TypedRows<Ts...>::value_type> values;
  values.reserve(size());
  for (auto&& value : as<Ts...>()) values.push_back(std::move(value));
  return values;
}

template <class T>
StructReader<T>::StructReader(const Result& result) : indices_(lookup(result.at(0))) {}

// What execute() returns: always the affected-row count, and the rows when the statement
// produced a row set (INSERT/UPDATE/DELETE ... RETURNING, SELECT). Nothing to guess.
class CommandResult {
 public:
  explicit CommandResult(Result result, bool has_rows)
      : result_(std::move(result)), has_rows_(has_rows) {}

  std::uint64_t affected_rows() const { return result_.affected_rows(); }
  bool has_rows() const noexcept { return has_rows_; }
  // The returned rows; throws UsageError when the statement returned none (no RETURNING).
  const Result& rows() const;
  std::string_view command_tag() const { return result_.command_tag(); }

 private:
  Result result_;
  bool has_rows_;
};

}  // namespace ouroboros
