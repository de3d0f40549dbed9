#pragma once
// What each pool counts for /metrics and SHOW STATS: plain per-loop counters, incremented on the
// data path without locks or name lookups, read at scrape time.
#include <array>
#include <string_view>

#include "metrics/counter.h"
#include "metrics/histogram.h"
#include "metrics/sqlstate_class.h"

namespace ouroboros::proxy {

struct PoolCounters {
  metrics::Counter transactions;
  metrics::Counter queries;  // requests answered with ReadyForQuery (a simple Query or a Sync)
  metrics::Counter bytes_received;  // from clients
  metrics::Counter bytes_sent;      // to clients
  metrics::Counter server_connect_attempts;
  metrics::Counter server_connect_failures;
  metrics::Counter slow_queries;
  metrics::Counter transaction_time_us;
  metrics::Counter query_time_us;
  metrics::Counter wait_time_us;
  // Transaction/statement mode: round trips that aligned a server to the client it was given
  // (settings that differ, SQL-level prepared statements) before the client's request ran.
  metrics::Counter server_syncs;
  metrics::SqlstateCounters errors;
  metrics::Histogram query_duration;
  metrics::Histogram transaction_duration;
  metrics::Histogram wait_duration;
};

// Why a client connection was refused.
enum class Rejection : std::uint8_t {
  TooManyClients,
  Authentication,
  UnknownDatabase,
  LoginTimeout,
  Protocol,
  Shutdown,
  TlsRequired
};
inline constexpr std::array<std::string_view, 7> kRejectionLabels = {
    "too_many_clients", "authentication", "unknown_database", "login_timeout", "protocol", "shutdown",
    "tls_required"};

// TLS handshakes by side: the proxy as server (clients) or as client (PostgreSQL servers).
enum class TlsSide : std::uint8_t { Client, Server };
inline constexpr std::array<std::string_view, 2> kTlsSideLabels = {"client", "server"};

// Retries of transient errors (arrive with the retry feature): by reason and outcome.
enum class RetryReason : std::uint8_t { Deadlock, Serialization, StalePlan, Other };
inline constexpr std::array<std::string_view, 4> kRetryReasonLabels = {"deadlock", "serialization_failure",
                                                                       "cached_plan_changed", "other"};
enum class RetryOutcome : std::uint8_t { Succeeded, Failed };
inline constexpr std::array<std::string_view, 2> kRetryOutcomeLabels = {"success", "failure"};

struct ProxyCounters {
  metrics::Counter client_connections;
  std::array<metrics::Counter, kRejectionLabels.size()> rejected;
  std::array<std::array<metrics::Counter, kRetryOutcomeLabels.size()>, kRetryReasonLabels.size()> retries;
  std::array<metrics::Counter, kTlsSideLabels.size()> tls_handshakes;
  std::array<metrics::Counter, kTlsSideLabels.size()> tls_handshake_failures;
  void reject(Rejection r) { rejected[static_cast<std::size_t>(r)].inc(); }
  void tls_handshake(TlsSide side, bool ok) {
    (ok ? tls_handshakes : tls_handshake_failures)[static_cast<std::size_t>(side)].inc();
  }
};

}  // namespace ouroboros::proxy
