// Deferred columns in mapped structs: a member that a query may leave out, and that says so.
//
//   struct User {
//     std::int64_t id = 0;
//     std::string name;
//     query::Deferrable<std::string> bio;   // may be left out by defer(users.bio) / only(...)
//   };
//   OUROBOROS_FIELDS(User, id, name, bio)
//
//   User u = query::select_from(users).defer(users.bio).one<User>(conn);
//   u.bio.loaded();   // false
//   u.bio.get();      // throws query::NotLoaded naming "bio": no default, no hidden query
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ouroboros/errors.hpp"
#include "ouroboros/fields.hpp"
#include "ouroboros/result.hpp"

namespace ouroboros::query {

// Reading a column the query did not load.
class NotLoaded : public UsageError {
 public:
  using UsageError::UsageError;
};

template <class T>
class Deferrable {
 public:
  using value_type = T;
  Deferrable() = default;                            // not loaded
  Deferrable(T value) : value_(std::move(value)) {}  // NOLINT: loaded, implicitly from a T
  // Not loaded because the query left `column` out (named in the NotLoaded message).
  static Deferrable not_loaded(std::string_view column) {
    Deferrable d;
    d.column_ = column;
    return d;
  }

  bool loaded() const noexcept { return value_.has_value(); }
  const T& get() const& {
    if (!value_) throw_not_loaded();
    return *value_;
  }
  T& get() & {
    if (!value_) throw_not_loaded();
    return *value_;
  }
  const T& operator*() const& { return get(); }
  const T* operator->() const { return &get(); }
  // The value, or `fallback` when not loaded: an explicit choice at the call site.
  T value_or(T fallback) const { return value_ ? *value_ : std::move(fallback); }

 private:
  [[noreturn]] void throw_not_loaded() const {
    throw NotLoaded(column_.empty()
                        ? std::string("a Deferrable value was read before it was loaded")
                        : "column \"" + std::string(column_) +
                              "\" was not loaded: the query deferred it or left it out "
                              "(undefer it, or select it with only())");
  }
  std::optional<T> value_;
  std::string_view column_;  // names from OUROBOROS_FIELDS: string literals
};

template <class T>
inline constexpr bool is_deferrable = false;
template <class T>
inline constexpr bool is_deferrable<Deferrable<T>> = true;

}  // namespace ouroboros::query

namespace ouroboros {

// A loaded Deferrable<T> reads and writes exactly like a T (also through Result::as<Struct>()).
template <class T>
struct Conversion<query::Deferrable<T>> {
  static constexpr Oid oid = Conversion<T>::oid, array_oid = Conversion<T>::array_oid;
  static query::Deferrable<T> from_text(std::string_view text) requires FromText<T> {
    return query::Deferrable<T>(Conversion<T>::from_text(text));
  }
  static void to_text(const query::Deferrable<T>& value, std::string& out) {
    Conversion<T>::to_text(value.get(), out);
  }
  static bool is_null(const query::Deferrable<T>& value) requires Nullable<T> {
    return Conversion<T>::is_null(value.get());
  }
  static query::Deferrable<T> null() requires Nullable<T> {
    return query::Deferrable<T>(Conversion<T>::null());
  }
};

}  // namespace ouroboros

namespace ouroboros::query {

// Maps rows to a Described struct (OUROBOROS_FIELDS) by column name, knowing that columns may
// be left out: a Deferrable member whose column is absent is marked not loaded; any other
// member whose column is absent throws NotLoaded at once (before any row is read).
template <class T>
requires Described<T>
class RowMapper {
 public:
  explicit RowMapper(const Result& result) {
    std::size_t i = 0;
    std::apply([&](const auto&... field) { ((lookup(result, field, i++)), ...); },
               ouroboros_fields(type_tag<T>{}));
  }

  T read(const Row& row) const {
    T value{};
    std::size_t i = 0;
    std::apply([&](const auto&... field) { ((assign(row, value, field, i++)), ...); },
               ouroboros_fields(type_tag<T>{}));
    return value;
  }

  std::vector<T> read_all(const Result& result) const {
    std::vector<T> values;
    values.reserve(result.size());
    for (const Row& row : result) values.push_back(read(row));
    return values;
  }

 private:
  static constexpr std::size_t kCount =
      std::tuple_size_v<decltype(ouroboros_fields(type_tag<T>{}))>;

  template <class Field>
  void lookup(const Result& result, const Field& field, std::size_t i) {
    using Member = std::remove_cvref_t<decltype(std::declval<T&>().*(field.member))>;
    indices_[i] = result.find_column(field.name);
    if (!indices_[i] && !is_deferrable<Member>)
      throw NotLoaded("column \"" + std::string(field.name) +
                      "\" is not in the result (deferred or not selected) and its member is not "
                      "a query::Deferrable, so it cannot be left unloaded");
  }

  template <class Field>
  void assign(const Row& row, T& value, const Field& field, std::size_t i) const {
    using Member = std::remove_cvref_t<decltype(std::declval<T&>().*(field.member))>;
    if (indices_[i]) {
      value.*(field.member) = row.template get<Member>(*indices_[i]);
    } else if constexpr (is_deferrable<Member>) {
      value.*(field.member) = Member::not_loaded(field.name);
    }
  }

  std::array<std::optional<std::size_t>, kCount> indices_{};
};

}  // namespace ouroboros::query
