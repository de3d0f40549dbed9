// Observation: one statement reported to a connection's observers, start and end, exactly once.
#pragma once

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ouroboros/observer.hpp"

struct pg_conn;
struct pg_result;

namespace ouroboros::detail {

using Observers = std::vector<std::shared_ptr<QueryObserver>>;

// sql with an sqlcommenter comment carrying the traceparent, placed before a trailing ';' (on a
// line of its own when the text has a "--" comment that would swallow it).
std::string with_trace_comment(std::string_view sql, const TraceContext& trace);

// Rows returned (a result with rows) or affected (a command); -1 when not known.
std::int64_t rows_of(const pg_result* result) noexcept;

TransactionStatus transaction_status_of(const pg_conn* conn) noexcept;

class Observation {
 public:
  // Reports the start to every observer; does nothing without observers.
  Observation(const Observers& observers, QueryEvent event, const Params* params);
  Observation(const Observation&) = delete;
  Observation& operator=(const Observation&) = delete;

  bool active() const noexcept { return !observers_.empty(); }
  QueryEvent& event() noexcept { return event_; }
  // Report the end (only the first call counts).
  void succeeded(const pg_result* result) noexcept;
  void failed(const std::exception& error) noexcept;
  void failed_unknown() noexcept;  // something not derived from std::exception was thrown

 private:
  void finish() noexcept;
  void notify(bool start) noexcept;

  const Observers& observers_;
  QueryEvent event_;
  const Params* params_;
  std::chrono::steady_clock::time_point started_;
  bool finished_ = false;
};

}  // namespace ouroboros::detail
