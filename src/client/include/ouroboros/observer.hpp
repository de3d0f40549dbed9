// Query hooks: an observer called at the start and end of every statement a Connection runs,
// and the W3C trace context that travels with the statements.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ouroboros {

class Params;

// A W3C trace context (the traceparent header, version 00).
struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};  // the application's current span: the parent
  std::uint8_t flags = 0;                 // bit 0: sampled

  // "00-<32 hex>-<16 hex>-<2 hex>", lowercase, ids not all zeros; UsageError otherwise. An empty
  // string gives the empty (invalid) context.
  static TraceContext parse(std::string_view traceparent);
  bool valid() const noexcept;       // trace and span ids are not all zeros
  std::string traceparent() const;   // "" when not valid
  std::string trace_id_hex() const;  // 32 lowercase hex digits
  std::string span_id_hex() const;   // 16 lowercase hex digits
  bool operator==(const TraceContext&) const = default;
};

// What a statement is, as far as the observer is concerned.
enum class StatementKind {
  Query,        // query(), execute(), query_value(): the extended protocol, with parameters
  Script,       // execute_script(): the simple protocol, possibly several statements
  Transaction,  // BEGIN, COMMIT, ROLLBACK, SAVEPOINT ... issued by Transaction
  Copy,         // copy_from() / copy_to()
  Notify,       // listen(), unlisten(), notify()
  Pipelined,    // one statement of a Pipeline
};

// What the prepared-statement cache did for the statement.
enum class CacheOutcome {
  NotUsed,     // the cache is off (statement_cache_size 0) or the statement is not cacheable
  Hit,         // a statement prepared earlier ran
  Prepared,    // not cached: prepared now, then run
  Reprepared,  // cached but gone or stale on the server: prepared again and re-run once
  Bypassed,    // a trace comment was added: the text is per call, so the unnamed statement ran
};

// The server-side transaction state when the statement started.
enum class TransactionStatus { Idle, InTransaction, Failed };

struct QueryEvent {
  std::uint64_t id = 0;  // the same at start and end; unique in the process
  StatementKind kind = StatementKind::Query;
  std::string_view sql;  // as the application wrote it (without the trace comment)
  std::size_t parameter_count = 0;
  // The parameter values, only for observers whose wants_parameter_values() is true.
  const Params* parameters = nullptr;
  TransactionStatus transaction = TransactionStatus::Idle;
  int attempt = 1;     // the run of Connection::transaction(...) this statement belongs to
  bool retry = false;  // attempt > 1: the transaction is being retried
  TraceContext trace;  // the traceparent in force (not valid when none is set)
  int backend_pid = 0;

  // Filled for on_query_end only.
  std::chrono::nanoseconds duration{0};
  std::int64_t rows = -1;  // rows returned, or affected by a command; -1 when not known
  CacheOutcome cache = CacheOutcome::NotUsed;
  bool failed = false;
  std::string_view sqlstate;       // on failure: five characters
  std::string_view error_class;    // on failure: the exception thrown, e.g. "ConflictError"
  std::string_view error_message;  // on failure: the server's primary message
};

// Receives every statement a connection runs: on_query_start before it is sent, on_query_end
// once it finished (successfully or not), exactly once each. Called on the thread running the
// statement; an observer shared by several connections (a pool) must be thread-safe. Exceptions
// thrown by an observer are swallowed: they never fail the statement.
class QueryObserver {
 public:
  virtual ~QueryObserver() = default;
  virtual void on_query_start(const QueryEvent& event) { (void)event; }
  virtual void on_query_end(const QueryEvent& event) { (void)event; }
  // Opt in to QueryEvent::parameters (values may be personal data or secrets).
  virtual bool wants_parameter_values() const { return false; }
};

std::string_view to_string(StatementKind kind) noexcept;
std::string_view to_string(CacheOutcome outcome) noexcept;
std::string_view to_string(TransactionStatus status) noexcept;

}  // namespace ouroboros
