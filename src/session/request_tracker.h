#pragma once
// A client's requests (a simple Query, an extended-protocol batch up to its Sync, a function
// call) in pipeline order, for the query log, the query statistics and retries: each one's text
// (for a batch, that of the statement its Bind named), its prepared statement's name and how long
// it waited for a server; as the server answers, its rows and first error. Statement texts are
// remembered by name from their Parse. No I/O.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/bytes.h"
#include "common/fifo.h"
#include "protocol/messages.h"
#include "sql/query_shape.h"

namespace ouroboros::session {

// The first error a request ran into, as PostgreSQL reported it.
struct RequestError {
  std::string sqlstate, severity, message, detail, hint;
};

struct TrackedRequest {
  std::string sql;
  std::string statement;                // prepared statement name, "" if none
  std::unique_ptr<RequestError> error;  // rare: kept off the common path's footprint
  std::uint64_t rows = 0;
  std::chrono::microseconds wait{0};
  sql::QueryShape shape;  // of `sql`, scanned once when it arrived; key 0 if none
};

class RequestTracker {
 public:
  // One client message on its way to the server: a Parse decoded (`parse`), a Query's or Parse's
  // text with its shape.
  // `bind`: a Bind's names when the caller decoded them already (else decoded here).
  void on_client_message(char type, ByteView body, const protocol::Parse* parse,
                         std::optional<std::string_view> text, const sql::QueryShape& shape,
                         const protocol::BindNames* bind = nullptr);
  // The client waited this long for a server: counted to its next request.
  void waited(std::chrono::microseconds wait) { wait_ = wait; }

  // The oldest unanswered request's rows and first error.
  void rows(std::uint64_t n) {
    if (!requests_.empty()) requests_.front().rows += n;
  }
  void error(const protocol::ErrorFields& fields);
  // The oldest unanswered request has run into an error.
  bool oldest_failed() const { return !requests_.empty() && requests_.front().error != nullptr; }
  // Its ReadyForQuery: the request, done (not empty()).
  TrackedRequest finish() { return requests_.take_front(); }
  // A finished request handed back: the next Query's text reuses its storage (no allocation per
  // query in the steady state).
  void recycle(TrackedRequest&& done) {
    if (done.sql.capacity() > spare_text_.capacity() && done.sql.capacity() <= kMaxSpareText)
      spare_text_ = std::move(done.sql);
  }

  bool empty() const { return requests_.empty(); }
  std::size_t size() const { return requests_.size(); }
  // The server was lost: the requests in flight are gone (the statement texts stay).
  void clear() { requests_.clear(); }

  // Bounded like PostgreSQL's own per-session statements would be, but never unbounded.
  static constexpr std::size_t kMaxTrackedStatements = 10000;

 private:
  Fifo<TrackedRequest> requests_;
  std::string spare_text_;  // see recycle()
  static constexpr std::size_t kMaxSpareText = 4096;
  std::chrono::microseconds wait_{0};
  struct StatementText {
    std::string sql;
    sql::QueryShape shape;  // scanned once, at its Parse
  };
  // Extended protocol: the client's statement texts and the batch being built. Made at its first
  // Parse or Bind: a simple-protocol client never pays for it.
  struct ExtendedTexts {
    StatementText batch, unnamed;  // the batch's text for the query log and statistics
    std::string batch_statement;
    std::unordered_map<std::string, StatementText> statement_text;  // prepared statement names -> SQL
  };
  std::unique_ptr<ExtendedTexts> extended_;
  ExtendedTexts& extended() {
    if (!extended_) extended_ = std::make_unique<ExtendedTexts>();
    return *extended_;
  }
};

}  // namespace ouroboros::session
