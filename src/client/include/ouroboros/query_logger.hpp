// QueryLogger: a ready-made observer that records failed statements and statements slower than
// a threshold, with literals redacted, through a sink the application gives.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ouroboros/observer.hpp"

namespace ouroboros {

struct QueryLogRecord {
  std::string_view event;  // "failed_query" or "slow_query"
  std::string sql;         // redacted unless QueryLoggerOptions::redact is false
  StatementKind kind = StatementKind::Query;
  std::chrono::nanoseconds duration{0};
  std::int64_t rows = -1;   // -1 when not known (always for failures)
  std::string sqlstate;     // failures only
  std::string error_class;  // failures only, e.g. "DeadlockError"
  std::string message;      // failures only: the server's primary message
  std::string trace_id;     // 32 hex digits when a traceparent was in force, else ""
  std::string span_id;      // 16 hex digits (the application's span), else ""
  int backend_pid = 0;
  int attempt = 1;
  bool in_transaction = false;
};

using QueryLogSink = std::function<void(const QueryLogRecord&)>;

struct QueryLoggerOptions {
  // A statement that took longer than this is logged as "slow_query".
  std::chrono::milliseconds slow_threshold{1000};
  bool log_slow = true;
  bool log_failed = true;
  // Replace every literal in the SQL by "?" (see redact_sql). false: log the SQL as written.
  bool redact = true;
  // Where the records go; empty: one JSON line per record on stderr (format_query_log_json).
  QueryLogSink sink{};
};

class QueryLogger : public QueryObserver {
 public:
  explicit QueryLogger(QueryLoggerOptions options = {});
  void on_query_end(const QueryEvent& event) override;

 private:
  QueryLoggerOptions options_;
};

// The SQL with every literal replaced by "?": strings of every kind ('...', E'...', B'...',
// X'...', U&'...', dollar-quoted bodies, unterminated ones), numbers and TRUE/FALSE. Identifiers,
// keywords, comments, NULL and $n parameters are kept.
std::string redact_sql(std::string_view sql);

// {"event":"slow_query","kind":"query","duration_ms":1001.352,"rows":1,"sql":"SELECT ...",...}
// Fields that are empty or unknown are left out.
std::string format_query_log_json(const QueryLogRecord& record);

}  // namespace ouroboros
