// Params: statement parameters converted to PostgreSQL text, ready for libpq.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ouroboros/convert.hpp"

namespace ouroboros {

class Params {
 public:
  Params() = default;
  template <class... Values>
  explicit Params(const Values&... values) {
    (add(values), ...);
  }

  template <class T>
  Params& add(const T& value) {
    using Converted = ParamType<T>;
    static_assert(ToText<Converted>,
                  "no ouroboros::Conversion<T>::to_text for this parameter type");
    if constexpr (Nullable<Converted>) {
      if (Conversion<Converted>::is_null(value)) {
        append_null(Conversion<Converted>::oid);
        return *this;
      }
    }
    std::string text;
    Conversion<Converted>::to_text(value, text);
    append(std::move(text), Conversion<Converted>::oid);
    return *this;
  }

  void append(std::string text, Oid type);
  void append_null(Oid type);

  std::size_t size() const noexcept { return types_.size(); }
  bool empty() const noexcept { return types_.empty(); }
  const Oid* types() const noexcept { return types_.data(); }
  bool is_null(std::size_t index) const { return nulls_.at(index); }
  // The value's text as sent ("" for NULL).
  std::string_view text(std::size_t index) const { return texts_.at(index); }
  // Pointers to the NUL-terminated values (nullptr for NULL); valid until the next add().
  const char* const* values() const;
  // Identifies the parameter types, for caching prepared statements per (sql, types).
  std::string type_signature() const;

 private:
  std::vector<std::string> texts_;
  std::vector<bool> nulls_;
  std::vector<Oid> types_;
  mutable std::vector<const char*> pointers_;
};

}  // namespace ouroboros
