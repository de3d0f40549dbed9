// COPY ... FROM STDIN: CopyWriter streams rows (typed, through Conversion<T>) or raw text/CSV
// chunks into a table. (COPY ... TO STDOUT is Connection::copy_to, a callback per row.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ouroboros/convert.hpp"
#include "ouroboros/errors.hpp"

namespace ouroboros {

class Connection;

enum class CopyFormat { Text, Csv };

namespace detail {
// Appends one field in the COPY format: text escapes \ TAB LF CR, CSV quotes when needed.
void append_copy_field(std::string& out, std::string_view value, CopyFormat format);
void append_copy_null(std::string& out, CopyFormat format);
}  // namespace detail

// An open COPY ... FROM STDIN; it must not outlive its Connection. Nothing else may run on the
// connection until finish() or abort(); a writer destroyed before either aborts the COPY (the
// server discards every row).
class CopyWriter {
 public:
  CopyWriter(CopyWriter&&) noexcept;
  CopyWriter& operator=(CopyWriter&&) = delete;
  CopyWriter(const CopyWriter&) = delete;
  CopyWriter& operator=(const CopyWriter&) = delete;
  ~CopyWriter();

  // One row, each value converted like a statement parameter (std::optional / nullptr for NULL).
  template <class... Values>
  CopyWriter& write_row(const Values&... values) {
    std::string& out = row_buffer();
    bool first = true;
    (append_value(out, values, first), ...);
    out += '\n';
    return end_row();
  }
  // Data in the COPY's format, as is; rows may span calls.
  CopyWriter& write_raw(std::string_view data);

  // Ends the COPY; returns the number of rows the server stored. Throws the classified error
  // (e.g. DataError for a malformed row, wherever it was) after the connection is ready again.
  std::int64_t finish();
  // Ends the COPY with an error: the server discards the rows (and aborts an open transaction).
  void abort(std::string_view reason = "aborted by the application") noexcept;
  bool is_open() const noexcept;
  CopyFormat format() const noexcept;

  struct Impl;

 private:
  friend class Connection;
  explicit CopyWriter(std::unique_ptr<Impl> impl);
  std::string& row_buffer();
  CopyWriter& end_row();

  template <class T>
  void append_value(std::string& out, const T& value, bool& first) {
    using Converted = ParamType<T>;
    static_assert(ToText<Converted>, "no ouroboros::Conversion<T>::to_text for this value type");
    if (!first) out += separator();
    first = false;
    if constexpr (Nullable<Converted>) {
      if (Conversion<Converted>::is_null(value)) {
        detail::append_copy_null(out, format());
        return;
      }
    }
    std::string text;
    Conversion<Converted>::to_text(value, text);
    detail::append_copy_field(out, text, format());
  }
  char separator() const noexcept { return format() == CopyFormat::Csv ? ',' : '\t'; }

  std::unique_ptr<Impl> impl_;
};

}  // namespace ouroboros
