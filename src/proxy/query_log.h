#pragma once
// Failed-query, slow-query and retry log records: one record per statement, JSON or text as
// logging.format says. Statement text is redacted unless logging.log_literals is set, and
// statements that may carry passwords are always redacted; the values PostgreSQL quotes in the
// error's message, DETAIL and HINT are hidden whenever the statement's literals are.
#include <spdlog/logger.h>

#include <chrono>
#include <optional>
#include <string>

#include "config/config.h"
#include "session/request_tracker.h"

namespace ouroboros::proxy {

// One finished (or failed) statement and where it came from.
struct QueryEvent {
  std::string_view sql;
  std::string_view statement_name;
  std::string_view database, user, application_name, client;
  std::chrono::microseconds duration{0};
  std::chrono::microseconds wait{0};
  std::uint64_t rows = 0;
  const session::RequestError* error = nullptr;
  int attempt = 1;  // retries: which run this was
};

class QueryLog {
 public:
  // `text_log` gets text records (the daemon's logger); `raw_log` prints its message as is and
  // gets complete JSON objects.
  QueryLog(spdlog::logger& text_log, spdlog::logger& raw_log) : text_(text_log), raw_(raw_log) {}
  void configure(const config::LoggingConfig& logging) { logging_ = logging; }

  void failed(const QueryEvent& event);
  void slow(const QueryEvent& event);
  void retry(const QueryEvent& event, std::string_view fingerprint, std::chrono::milliseconds delay);

 private:
  void write(std::string_view kind, spdlog::level::level_enum level, const QueryEvent& event,
             std::string_view fingerprint = {}, std::optional<std::chrono::milliseconds> delay = std::nullopt);

  spdlog::logger& text_;
  spdlog::logger& raw_;
  config::LoggingConfig logging_;
};

}  // namespace ouroboros::proxy
