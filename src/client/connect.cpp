// Connecting with exponential backoff and jitter.
#include "connect.hpp"

#include <libpq-fe.h>

namespace ouroboros {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

[[noreturn]] void throw_permanent(const std::string& message) {
  ErrorReport report;
  report.severity = "FATAL";
  report.message = message;
  if (contains(message, "database") && contains(message, "does not exist")) {
    report.sqlstate = "3D000";  // invalid_catalog_name
  } else {
    report.sqlstate = contains(message, "password authentication failed") ? "28P01" : "28000";
  }
  throw_database_error(std::move(report));
}

}  // namespace

bool is_permanent_connect_failure(std::string_view message) {
  return contains(message, "password authentication failed") ||
         contains(message, "authentication failed") || contains(message, "no password supplied") ||
         contains(message, "no pg_hba.conf entry") || contains(message, "does not exist") ||
         contains(message, "invalid connection option") || contains(message, "invalid URI") ||
         contains(message, "missing \"=\"");
}

pg_conn* connect_with_backoff(const ConnectOptions& options,
                              const std::function<ConnectAttempt()>& attempt) {
  options.backoff.validate();
  std::string last_error;
  for (int n = 1;; ++n) {
    ConnectAttempt result = attempt();
    if (result.connection != nullptr) return result.connection;
    last_error = trimmed(std::move(result.error));
    if (is_permanent_connect_failure(last_error)) throw_permanent(last_error);
    if (n >= options.backoff.attempts) break;
    detail::sleep_with(options.sleep,
                       options.backoff.delay(n, detail::random_with(options.random)));
  }
  ErrorReport report;
  report.sqlstate = "08001";  // sqlclient_unable_to_establish_sqlconnection
  report.severity = "FATAL";
  report.message = "could not connect after " + std::to_string(options.backoff.attempts) +
                   (options.backoff.attempts == 1 ? " attempt" : " attempts") +
                   "; last error: " + last_error;
  throw ConnectionError(std::move(report));
}

ConnectAttempt connect_once(const std::string& dsn, std::chrono::milliseconds timeout) {
  // dsn is expanded as a connection string (expand_dbname); a later keyword overrides it.
  const auto seconds = (timeout.count() + 999) / 1000;
  const std::string timeout_text = std::to_string(seconds);
  const char* keys[] = {"dbname", seconds > 0 ? "connect_timeout" : nullptr, nullptr};
  const char* values[] = {dsn.c_str(), timeout_text.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (conn == nullptr) return {nullptr, "out of memory allocating a connection"};
  if (PQstatus(conn) == CONNECTION_OK) return {conn, {}};
  ConnectAttempt failed{nullptr, PQerrorMessage(conn)};
  PQfinish(conn);
  return failed;
}

}  // namespace ouroboros
