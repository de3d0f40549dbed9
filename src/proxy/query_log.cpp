#include "proxy/query_log.h"

#include "common/json_escape.h"

#include <chrono>
#include <ctime>

#include "sql/error_redact.h"
#include "sql/redact.h"
#include "sql/trace_context.h"

namespace ouroboros::proxy {

namespace {
void json_string(std::string& out, std::string_view s) {
  out += '"';
  append_json_escaped(out, s);
  out += '"';
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return buf;
}

std::string ms_text(std::chrono::microseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(d.count()) / 1000.0);
  return buf;
}
}  // namespace

void QueryLog::failed(const QueryEvent& event) { write("query_failed", spdlog::level::warn, event); }
void QueryLog::slow(const QueryEvent& event) { write("slow_query", spdlog::level::warn, event); }
void QueryLog::retry(const QueryEvent& event, std::string_view fingerprint, std::chrono::milliseconds delay) {
  write("query_retry", spdlog::level::info, event, fingerprint, delay);
}

void QueryLog::write(std::string_view kind, spdlog::level::level_enum level, const QueryEvent& event,
                     std::string_view fingerprint, std::optional<std::chrono::milliseconds> delay) {
  if (!text_.should_log(level)) return;
  std::string statement = sql::safe_for_log(event.sql, logging_.log_literals);
  std::optional<std::string> trace = sql::trace_id(event.sql);
  // Field order is fixed so text records read the same way every time.
  std::vector<std::pair<std::string_view, std::string>> fields;
  if (event.error) {
    // PostgreSQL quotes the offending values in its messages: they are hidden whenever the
    // statement's literals are (the client still receives the full error).
    bool hide_values = !logging_.log_literals || statement != event.sql;
    auto text = [&](const std::string& s) { return hide_values ? sql::redact_error_text(s) : s; };
    fields.emplace_back("sqlstate", event.error->sqlstate);
    fields.emplace_back("severity", event.error->severity);
    fields.emplace_back("error", text(event.error->message));
    if (!event.error->detail.empty()) fields.emplace_back("detail", text(event.error->detail));
    if (!event.error->hint.empty()) fields.emplace_back("hint", text(event.error->hint));
  }
  fields.emplace_back("statement", statement);
  if (!event.statement_name.empty()) fields.emplace_back("statement_name", std::string(event.statement_name));
  if (!fingerprint.empty()) fields.emplace_back("fingerprint", std::string(fingerprint));
  fields.emplace_back("database", std::string(event.database));
  fields.emplace_back("user", std::string(event.user));
  fields.emplace_back("application_name", std::string(event.application_name));
  fields.emplace_back("client", std::string(event.client));
  fields.emplace_back("duration_ms", ms_text(event.duration));
  fields.emplace_back("wait_ms", ms_text(event.wait));
  if (event.rows) fields.emplace_back("rows", std::to_string(event.rows));
  if (event.attempt > 1 || delay) fields.emplace_back("attempt", std::to_string(event.attempt));
  if (delay) fields.emplace_back("retry_delay_ms", std::to_string(delay->count()));
  if (trace) fields.emplace_back("trace_id", *trace);

  if (logging_.format == config::LogFormat::Json) {
    std::string out = "{\"time\":\"" + utc_now() + "\",\"level\":\"" +
                      std::string(spdlog::level::to_string_view(level).data()) + "\",\"event\":";
    json_string(out, kind);
    for (const auto& [name, value] : fields) {
      out += ",\"";
      out += name;
      out += "\":";
      bool numeric = name == "duration_ms" || name == "wait_ms" || name == "rows" || name == "attempt" ||
                     name == "retry_delay_ms";
      if (numeric) out += value;
      else json_string(out, value);
    }
    out += '}';
    raw_.log(level, "{}", out);
    return;
  }
  std::string out(kind);
  for (const auto& [name, value] : fields) {
    out += ' ';
    out += name;
    out += '=';
    json_string(out, value);  // quoted, so values with spaces or newlines stay one field
  }
  text_.log(level, "{}", out);
}

}  // namespace ouroboros::proxy
