#pragma once
// Test helper: decodes the bytes the admin console returns into results, strictly: any framing
// error, unknown message, or a message after ReadyForQuery makes the response malformed.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "protocol/messages.h"

namespace ouroboros::admin::test {

struct Column {
  std::string name;
  std::int32_t type = 0;
};
using Row = std::vector<std::optional<std::string>>;

// One statement's outcome, in order.
struct Result {
  enum class Kind { Rows, Command, Error, EmptyQuery } kind = Kind::Command;
  std::vector<Column> columns;          // Rows
  std::vector<Row> rows;                // Rows
  std::string tag;                      // Rows, Command
  std::string sqlstate, message, hint;  // Error
  std::vector<std::string> notices;     // message + "\n" + detail of NoticeResponses before it

  std::vector<std::string> column_names() const {
    std::vector<std::string> names;
    for (const Column& c : columns) names.push_back(c.name);
    return names;
  }
  // The value in `row` under column `name`, "<missing>" if there is no such column.
  std::optional<std::string> cell(std::size_t row, std::string_view name) const {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].name == name) return rows.at(row).at(i);
    }
    return std::string("<missing>");
  }
};

struct Response {
  std::vector<Result> results;
  char ready_status = 0;
  std::string malformed;  // why decoding failed; "" when well formed
};

namespace detail {

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return at_ == data_.size(); }
  std::int64_t integer(int bytes) {
    if (!ok_ || data_.size() - at_ < static_cast<std::size_t>(bytes)) return fail();
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data_[at_++]);
    if (bytes == 2) return static_cast<std::int16_t>(v);
    if (bytes == 4) return static_cast<std::int32_t>(v);
    return static_cast<std::int64_t>(v);
  }
  std::string cstring() {
    const auto end = data_.find('\0', at_);
    if (!ok_ || end == std::string_view::npos) return fail(), std::string();
    std::string s(data_.substr(at_, end - at_));
    at_ = end + 1;
    return s;
  }
  std::string bytes(std::size_t n) {
    if (!ok_ || data_.size() - at_ < n) return fail(), std::string();
    std::string s(data_.substr(at_, n));
    at_ += n;
    return s;
  }

 private:
  std::int64_t fail() {
    ok_ = false;
    return 0;
  }
  std::string_view data_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace detail

inline Response decode_response(const Bytes& bytes) {
  Response response;
  const std::string_view data = as_chars(bytes);
  std::size_t at = 0;
  Result pending;  // a Rows result being filled, or notices waiting for their result
  bool in_rows = false;
  auto fail = [&](std::string why) {
    response.malformed = std::move(why);
    return response;
  };
  while (at < data.size()) {
    if (response.ready_status != 0) return fail("message after ReadyForQuery");
    if (data.size() - at < 5) return fail("truncated header");
    const char type = data[at];
    detail::Reader header(data.substr(at + 1, 4));
    const auto length = header.integer(4);
    if (length < 4 || static_cast<std::size_t>(length) > data.size() - at - 1) {
      return fail("bad length");
    }
    detail::Reader body(data.substr(at + 5, static_cast<std::size_t>(length) - 4));
    at += 1 + static_cast<std::size_t>(length);
    switch (type) {
      case 'T': {
        if (in_rows) return fail("RowDescription inside a result");
        in_rows = true;
        pending.kind = Result::Kind::Rows;
        const auto n = body.integer(2);
        for (std::int64_t i = 0; i < n && body.ok(); ++i) {
          Column column;
          column.name = body.cstring();
          body.integer(4);
          body.integer(2);
          column.type = static_cast<std::int32_t>(body.integer(4));
          body.integer(2);
          body.integer(4);
          if (body.integer(2) != 0) return fail("binary column");
          pending.columns.push_back(column);
        }
        break;
      }
      case 'D': {
        if (!in_rows) return fail("DataRow without RowDescription");
        const auto n = body.integer(2);
        if (n != static_cast<std::int64_t>(pending.columns.size())) return fail("row width");
        Row row;
        for (std::int64_t i = 0; i < n && body.ok(); ++i) {
          const auto len = body.integer(4);
          if (len == -1) {
            row.push_back(std::nullopt);
          } else if (len < 0) {
            return fail("negative cell length");
          } else {
            row.push_back(body.bytes(static_cast<std::size_t>(len)));
          }
        }
        pending.rows.push_back(std::move(row));
        break;
      }
      case 'C':
        pending.tag = body.cstring();
        if (!in_rows) pending.kind = Result::Kind::Command;
        response.results.push_back(std::move(pending));
        pending = Result{};
        in_rows = false;
        break;
      case 'I':
        if (in_rows) return fail("EmptyQueryResponse inside a result");
        pending.kind = Result::Kind::EmptyQuery;
        response.results.push_back(std::move(pending));
        pending = Result{};
        break;
      case 'E':
      case 'N': {
        if (in_rows) return fail("error or notice inside a result");
        std::map<char, std::string> fields;
        for (;;) {
          const auto code = body.integer(1);
          if (!body.ok() || code == 0) break;
          fields[static_cast<char>(code)] = body.cstring();
        }
        if (fields['C'].size() != 5) return fail("bad SQLSTATE");
        if (type == 'N') {
          pending.notices.push_back(fields['M'] + "\n" + fields['D']);
        } else {
          pending.kind = Result::Kind::Error;
          pending.sqlstate = fields['C'];
          pending.message = fields['M'];
          pending.hint = fields['H'];
          response.results.push_back(std::move(pending));
          pending = Result{};
        }
        break;
      }
      case 'Z':
        if (in_rows) return fail("ReadyForQuery inside a result");
        response.ready_status = static_cast<char>(body.integer(1));
        break;
      default:
        return fail(std::string("unexpected message type ") + type);
    }
    if (!body.ok() || !body.done()) return fail(std::string("bad body of ") + type);
  }
  if (response.ready_status == 0) return fail("no ReadyForQuery");
  return response;
}

}  // namespace ouroboros::admin::test
