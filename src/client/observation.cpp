// Observation: building query events and calling the observers.
#include "observation.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>

#include "ouroboros/errors.hpp"

namespace ouroboros::detail {
namespace {

std::uint64_t next_event_id() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

}  // namespace

std::string with_trace_comment(std::string_view sql, const TraceContext& trace) {
  std::size_t end = sql.size();
  while (end > 0 && (sql[end - 1] == ' ' || sql[end - 1] == '\n' || sql[end - 1] == '\t' ||
                     sql[end - 1] == '\r'))
    --end;
  const bool semicolon = end > 0 && sql[end - 1] == ';';
  if (semicolon) --end;
  std::string text(sql.substr(0, end));
  text += sql.find("--") != std::string_view::npos ? '\n' : ' ';
  text += "/*traceparent='" + trace.traceparent() + "'*/";
  if (semicolon) text += ';';
  return text;
}

std::int64_t rows_of(const pg_result* result) noexcept {
  if (result == nullptr) return -1;
  if (PQresultStatus(result) == PGRES_TUPLES_OK) return PQntuples(result);
  const char* affected = PQcmdTuples(const_cast<PGresult*>(result));
  if (affected == nullptr || *affected == '\0') return 0;
  return std::strtoll(affected, nullptr, 10);
}

TransactionStatus transaction_status_of(const pg_conn* conn) noexcept {
  switch (PQtransactionStatus(conn)) {
    case PQTRANS_INTRANS:
    case PQTRANS_ACTIVE:
      return TransactionStatus::InTransaction;
    case PQTRANS_INERROR:
      return TransactionStatus::Failed;
    default:
      return TransactionStatus::Idle;
  }
}

Observation::Observation(const Observers& observers, QueryEvent event, const Params* params)
    : observers_(observers), event_(std::move(event)), params_(params) {
  if (!active()) return;
  event_.id = next_event_id();
  event_.retry = event_.attempt > 1;
  notify(true);
  started_ = std::chrono::steady_clock::now();
}

void Observation::succeeded(const pg_result* result) noexcept {
  if (!active() || finished_) return;
  event_.rows = rows_of(result);
  finish();
}

void Observation::failed(const std::exception& error) noexcept {
  if (!active() || finished_) return;
  event_.failed = true;
  if (const auto* database = dynamic_cast<const DatabaseError*>(&error)) {
    event_.sqlstate = database->sqlstate();
    event_.error_class = error_class_name(database->sqlstate());
    event_.error_message = database->message();
  } else {
    event_.error_class = dynamic_cast<const UsageError*>(&error) ? "UsageError" : "Error";
    event_.error_message = error.what();
  }
  finish();  // the exception outlives this call: the views stay valid
}

void Observation::failed_unknown() noexcept {
  if (!active() || finished_) return;
  event_.failed = true;
  event_.error_class = "unknown";
  finish();
}

void Observation::finish() noexcept {
  finished_ = true;
  event_.duration = std::chrono::steady_clock::now() - started_;
  notify(false);
}

void Observation::notify(bool start) noexcept {
  for (const auto& observer : observers_) {
    try {
      event_.parameters = observer->wants_parameter_values() ? params_ : nullptr;
      if (start)
        observer->on_query_start(event_);
      else
        observer->on_query_end(event_);
    } catch (...) {
      // An observer must not fail the statement.
    }
  }
  event_.parameters = nullptr;
}

}  // namespace ouroboros::detail
