// QueryLogger: failed and slow statements as records, and the default JSON-lines sink.
#include "ouroboros/query_logger.hpp"

#include <cstdio>

#include "common/json_escape.h"
#include "ouroboros/errors.hpp"

namespace ouroboros {
namespace {

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

void add_string(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  out += ",\"";
  out += key;
  out += "\":";
  append_json_string(out, value);
}

void add_number(std::string& out, std::string_view key, long long value) {
  out += ",\"";
  out += key;
  out += "\":";
  out += std::to_string(value);
}

void write_to_stderr(const QueryLogRecord& record) {
  const std::string line = format_query_log_json(record) + '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);  // one write per line
}

}  // namespace

std::string format_query_log_json(const QueryLogRecord& record) {
  std::string out = "{\"event\":";
  append_json_string(out, record.event);
  add_string(out, "kind", to_string(record.kind));
  char duration[32];
  std::snprintf(duration, sizeof duration, "%.3f",
                std::chrono::duration<double, std::milli>(record.duration).count());
  out += ",\"duration_ms\":";
  out += duration;
  if (record.rows >= 0) add_number(out, "rows", record.rows);
  add_string(out, "sqlstate", record.sqlstate);
  add_string(out, "error_class", record.error_class);
  add_string(out, "message", record.message);
  add_string(out, "sql", record.sql);
  add_string(out, "trace_id", record.trace_id);
  add_string(out, "span_id", record.span_id);
  if (record.backend_pid != 0) add_number(out, "backend_pid", record.backend_pid);
  if (record.attempt > 1) add_number(out, "attempt", record.attempt);
  if (record.in_transaction) out += ",\"in_transaction\":true";
  out += '}';
  return out;
}

QueryLogger::QueryLogger(QueryLoggerOptions options) : options_(std::move(options)) {
  if (options_.slow_threshold.count() < 0)
    throw UsageError("QueryLoggerOptions: slow_threshold must not be negative");
}

void QueryLogger::on_query_end(const QueryEvent& event) {
  const bool slow = options_.log_slow && event.duration > options_.slow_threshold;
  if (!(event.failed ? options_.log_failed : slow)) return;
  QueryLogRecord record;
  record.event = event.failed ? "failed_query" : "slow_query";
  record.sql = options_.redact ? redact_sql(event.sql) : std::string(event.sql);
  record.kind = event.kind;
  record.duration = event.duration;
  record.rows = event.failed ? -1 : event.rows;
  record.sqlstate = event.sqlstate;
  record.error_class = event.error_class;
  record.message = event.error_message;
  if (event.trace.valid()) {
    record.trace_id = event.trace.trace_id_hex();
    record.span_id = event.trace.span_id_hex();
  }
  record.backend_pid = event.backend_pid;
  record.attempt = event.attempt;
  record.in_transaction = event.transaction != TransactionStatus::Idle;
  if (options_.sink)
    options_.sink(record);
  else
    write_to_stderr(record);
}

}  // namespace ouroboros
