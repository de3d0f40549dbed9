// /metrics and /readyz for one Proxy: gauges computed from live state at scrape time, counters
// read from the per-pool structs. Runs on the proxy's loop thread.
#include <map>

#include "metrics/family_builder.h"
#include "metrics/text_format.h"
#include "proxy/client_connection.h"
#include "proxy/proxy.h"

namespace ouroboros::proxy {


bool Proxy::ready() const {
  if (shutting_down_ || !listener_.is_open()) return false;
  for (const auto& [key, pool] : pools_)
    if (!pool->servers.reachable()) return false;
  return true;
}

std::string Proxy::render_metrics() const {
  using metrics::Labels;
  // Clients by pool and state.
  struct ClientStates {
    std::size_t active = 0, waiting = 0, idle = 0, pinned = 0;
  };
  std::map<const PoolEntry*, ClientStates> client_states;
  for (const auto& [id, c] : clients_) {
    const PoolEntry* pool = c->pool_entry();
    if (!pool) continue;
    ClientStates& states = client_states[pool];
    switch (c->state()) {
      case ClientConnection::State::Linked: ++states.active; break;
      case ClientConnection::State::WaitingForServer: ++states.waiting; break;
      case ClientConnection::State::Idle: ++states.idle; break;
      default: break;
    }
    if (c->pinned() != session::PinReason::None) ++states.pinned;
  }

  auto clients = metrics::gauge_family("ouroboros_clients", "Client connections by pool and state.");
  auto servers = metrics::gauge_family("ouroboros_servers", "Server connections by pool and state.");
  auto pool_size = metrics::gauge_family("ouroboros_pool_size", "Configured servers per pool (pool.size).");
  auto pool_max = metrics::gauge_family("ouroboros_pool_max_size",
                                        "Servers a pool may open, reserve included (pool.size + pool.reserve_size).");
  auto backoff = metrics::gauge_family("ouroboros_backoff_delay_seconds",
                                       "Current reconnect delay of a pool whose backend is failing (0 when healthy).");
  auto reachable = metrics::gauge_family("ouroboros_pool_reachable", "1 when the pool can reach its backend.");
  auto paused = metrics::gauge_family("ouroboros_pool_paused", "1 while the pool is paused (PAUSE).");
  auto pinned = metrics::gauge_family(
      "ouroboros_pool_pinned_clients",
      "Clients keeping their server between transactions (transaction/statement mode) "
      "for session state that cannot move: temporary tables, session advisory locks, "
      "WITH HOLD cursors, LOAD, SET SESSION AUTHORIZATION.");
  auto transactions = metrics::counter_family("ouroboros_transactions_total", "Transactions completed.");
  auto queries = metrics::counter_family("ouroboros_queries_total", "Requests answered (simple queries and Syncs).");
  auto received = metrics::counter_family("ouroboros_received_bytes_total", "Bytes received from clients.");
  auto sent = metrics::counter_family("ouroboros_sent_bytes_total", "Bytes sent to clients.");
  auto attempts = metrics::counter_family("ouroboros_server_connection_attempts_total",
                                          "Connections opened (or tried) to the backend.");
  auto failures = metrics::counter_family("ouroboros_server_connection_failures_total",
                                          "Connections to the backend that failed to log in.");
  auto syncs = metrics::counter_family(
      "ouroboros_server_syncs_total",
      "Transaction/statement mode: round trips that aligned a server to the client it was given "
      "(settings that differ, SQL-level prepared statements) before the client's request.");
  auto errors = metrics::counter_family("ouroboros_errors_total", "ErrorResponses from the backend by SQLSTATE class.");
  auto slow = metrics::counter_family("ouroboros_slow_queries_total", "Statements slower than logging.slow_query_threshold.");
  auto query_duration = metrics::histogram_family("ouroboros_query_duration_seconds",
                                                  "Time from a request to its ReadyForQuery.");
  auto transaction_duration = metrics::histogram_family("ouroboros_transaction_duration_seconds",
                                                        "Time from a transaction's first request to its end.");
  auto wait_duration = metrics::histogram_family("ouroboros_wait_duration_seconds",
                                                 "Time clients waited for a server connection.");
  auto at = now();
  for (const auto& [key, pool] : pools_) {
    Labels labels{{"database", pool->database}, {"user", pool->user}};
    auto with = [&](const char* name, const char* value) {
      Labels l = labels;
      l.emplace_back(name, value);
      return l;
    };
    const ClientStates& cs = client_states[pool.get()];
    clients.add_value(with("state", "active"), static_cast<double>(cs.active));
    clients.add_value(with("state", "waiting"), static_cast<double>(cs.waiting));
    clients.add_value(with("state", "idle"), static_cast<double>(cs.idle));
    const auto& sp = pool->servers;
    servers.add_value(with("state", "active"), static_cast<double>(sp.active_count()));
    servers.add_value(with("state", "idle"), static_cast<double>(sp.idle_count()));
    servers.add_value(with("state", "connecting"), static_cast<double>(sp.connecting_count()));
    pool_size.add_value(labels, static_cast<double>(pool->db.pool.size));
    pool_max.add_value(labels, static_cast<double>(pool->db.pool.size + pool->db.pool.reserve_size));
    backoff.add_value(labels, sp.consecutive_failures() > 0 ? sp.current_backoff().count() / 1000.0 : 0.0);
    reachable.add_value(labels, sp.reachable() ? 1 : 0);
    paused.add_value(labels, pool->paused ? 1 : 0);
    pinned.add_value(labels, static_cast<double>(cs.pinned));
    const PoolCounters& c = pool->counters;
    transactions.add(labels, c.transactions);
    queries.add(labels, c.queries);
    received.add(labels, c.bytes_received);
    sent.add(labels, c.bytes_sent);
    attempts.add(labels, c.server_connect_attempts);
    failures.add(labels, c.server_connect_failures);
    syncs.add(labels, c.server_syncs);
    errors.add(labels, c.errors);
    slow.add(labels, c.slow_queries);
    query_duration.add(labels, c.query_duration);
    transaction_duration.add(labels, c.transaction_duration);
    wait_duration.add(labels, c.wait_duration);
    (void)at;
  }

  auto accepted = metrics::counter_family("ouroboros_client_connections_total", "Client connections accepted.");
  accepted.add({}, counters_.client_connections);
  auto rejected = metrics::counter_family("ouroboros_client_connections_rejected_total",
                                          "Client connections refused, by reason.");
  for (std::size_t i = 0; i < kRejectionLabels.size(); ++i)
    rejected.add({{"reason", std::string(kRejectionLabels[i])}}, counters_.rejected[i]);
  auto tls = metrics::counter_family("ouroboros_tls_handshakes_total",
                                     "TLS handshakes by side (client: with clients, server: with PostgreSQL) "
                                     "and result.");
  for (std::size_t i = 0; i < kTlsSideLabels.size(); ++i) {
    tls.add({{"side", std::string(kTlsSideLabels[i])}, {"result", "ok"}}, counters_.tls_handshakes[i]);
    tls.add({{"side", std::string(kTlsSideLabels[i])}, {"result", "failed"}}, counters_.tls_handshake_failures[i]);
  }
  auto retries = metrics::counter_family("ouroboros_retries_total",
                                         "Statements re-run after a transient error, by reason and outcome.");
  for (std::size_t r = 0; r < kRetryReasonLabels.size(); ++r)
    for (std::size_t o = 0; o < kRetryOutcomeLabels.size(); ++o)
      retries.add({{"reason", std::string(kRetryReasonLabels[r])}, {"outcome", std::string(kRetryOutcomeLabels[o])}},
                  counters_.retries[r][o]);

  auto lookups = metrics::counter_family("ouroboros_auth_query_lookups_total",
                                         "auth_query lookups by result: cached (a login answered from the cache), "
                                         "answered (PostgreSQL answered the query), failed (the lookup failed).");
  lookups.add({{"result", "cached"}}, user_lookup_.counts().cached);
  lookups.add({{"result", "answered"}}, user_lookup_.counts().answered);
  lookups.add({{"result", "failed"}}, user_lookup_.counts().failed);

  const auto& st = statement_stats_;
  auto client_parses = metrics::counter_family("ouroboros_prepared_statements_client_parses_total",
                                               "Named Parse messages from clients (transaction/statement mode).");
  client_parses.add_value({}, static_cast<double>(st.client_parses));
  auto server_parses = metrics::counter_family("ouroboros_prepared_statements_server_parses_total",
                                               "Parse messages servers really ran for client statements.");
  server_parses.add_value({}, static_cast<double>(st.server_parses));
  auto hits = metrics::counter_family("ouroboros_prepared_statements_hits_total",
                                      "Client Parses answered by the proxy (the server had the statement).");
  hits.add_value({}, static_cast<double>(st.hits));
  auto evictions = metrics::counter_family("ouroboros_prepared_statements_evictions_total",
                                           "Statements closed on a server to stay within max_prepared_statements.");
  evictions.add_value({}, static_cast<double>(st.evictions));
  auto sql_prepares = metrics::counter_family("ouroboros_sql_prepare_total",
                                              "SQL-level PREPARE/EXECUTE seen in transaction or statement mode.");
  sql_prepares.add_value({}, static_cast<double>(st.sql_prepares));
  auto client_count = metrics::gauge_family("ouroboros_client_connections", "Client connections open now.");
  client_count.add_value({}, static_cast<double>(clients_.size()));
  auto up = metrics::gauge_family("ouroboros_ready", "1 while /readyz answers 200.");
  up.add_value({}, ready() ? 1 : 0);

  std::vector<prometheus::MetricFamily> families;
  for (auto* f : {&clients, &servers, &pool_size, &pool_max, &backoff, &reachable, &paused, &pinned,
                  &client_count, &up})
    families.push_back(f->build());
  for (auto* f : {&transactions, &queries, &received, &sent, &attempts, &failures, &syncs, &errors, &slow, &accepted,
                  &rejected, &tls, &retries, &lookups, &client_parses, &server_parses, &hits, &evictions, &sql_prepares})
    families.push_back(f->build());
  for (auto* f : {&query_duration, &transaction_duration, &wait_duration}) families.push_back(f->build());
  return metrics::render(families);
}

}  // namespace ouroboros::proxy
