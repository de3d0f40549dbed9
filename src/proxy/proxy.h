#pragma once
// The proxy on one event loop: accepts clients, owns every client and server connection on that
// loop, its pools and its cancel keys. Several Proxies (one per loop) share nothing mutable.
#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "config/config.h"
#include "pool/settings_interner.h"
#include "io/event_loop.h"
#include "io/tcp_listener.h"
#include "io/unix_listener.h"
#include "io/timer.h"
#include "pool/cancel_registry.h"
#include "pool/login_parameters.h"
#include "pool/server_pool.h"
#include "protocol/auth.h"
#include "proxy/admin_view.h"
#include "proxy/cancel_forwarder.h"
#include "proxy/pool_counters.h"
#include "proxy/pool_listener.h"
#include "proxy/query_log.h"
#include "session/query_stats.h"
#include "proxy/server_connection.h"
#include "proxy/tls_contexts.h"
#include "proxy/user_lookup.h"
#include "session/statement_registry.h"
#include "session/statement_rewriter.h"
#include "sql/session_statement.h"
#include "sql/shape_cache.h"

namespace ouroboros::proxy {

class ClientConnection;

// One pool: a client-facing database name and a client user.
struct PoolEntry {
  PoolEntry(std::string database_name, std::string user_name, config::DatabaseConfig database_config,
            pool::PoolLimits limits, pool::ServerId& next_server_id, pool::DatabaseCapacity& capacity,
            RandomSource& random)
      : database(std::move(database_name)), user(std::move(user_name)), db(std::move(database_config)),
        servers(limits, next_server_id, capacity, random) {}
  std::string database;  // client-facing name
  std::string user;      // client user
  config::DatabaseConfig db;
  pool::ServerPool servers;
  std::optional<OwnedError> last_connect_error;
  std::optional<protocol::ScramClientKeys> scram_keys;  // from the latest SCRAM client login
  std::optional<std::string> looked_up_secret;          // auth_query's answer for `user`
  PoolCounters counters;
  bool paused = false;  // PAUSE: no new server assignments until RESUME
  // What the pool's servers reported at login: lets a client log in without a server.
  pool::LoginParameters login_parameters;
  // Transaction/statement mode: the listening connection, made at the first client LISTEN.
  std::unique_ptr<PoolListener> listener;
};

pool::PoolLimits pool_limits(const config::PoolSettings& settings);

class AdminView;

class Proxy {
 public:
  // `raw_log` prints messages as they are (complete JSON query-log records).
  Proxy(io::EventLoop& loop, std::shared_ptr<const config::Config> config, spdlog::logger& log,
        spdlog::logger& raw_log);
  ~Proxy();

  // Binds the listener and starts the pool maintenance tick; returns "" or the error.
  std::string start();
  std::uint16_t port() const { return listener_.bound_port(); }
  // Graceful (SIGTERM): stop accepting, let running transactions finish for up to
  // timeouts.shutdown_timeout, then close everything. Immediate (SIGINT): close everything now.
  void shutdown(std::string_view reason, bool graceful);
  // The admin console's view of this proxy; RELOAD calls `reload` (set by the daemon).
  admin::ProxyView& admin_view() { return admin_view_; }
  void set_reload(std::function<std::string()> reload) { reload_ = std::move(reload); }
  // Admin console commands (database "" = every database); "" or an error message.
  std::string pause(const std::string& database, bool paused);
  std::string reconnect(const std::string& database);
  std::string kill(const std::string& database);
  // SIGHUP: apply a new, already validated configuration without dropping clients.
  void reload(std::shared_ptr<const config::Config> config);

  // Clients' expected settings, shared between clients that expect the same (per loop).
  pool::SettingsInterner& settings_interner() { return settings_interner_; }
  pool::StartupParametersInterner& startup_parameters_interner() { return startup_parameters_interner_; }
  io::EventLoop& loop() { return loop_; }
  // The running configuration. A reload replaces (and may free) it: take no reference into it
  // that outlives the current call; hold a snapshot instead.
  const config::Config& config() const { return *config_; }
  std::shared_ptr<const config::Config> config_snapshot() const { return config_; }
  spdlog::logger& log() { return log_; }
  // A text of PostgreSQL's (an error message or DETAIL) as the log may show it: the values it
  // quotes are hidden unless logging.log_literals is on, as in the query log. Such texts can
  // quote what a client sent (a setting's value a server rejected).
  std::string loggable_postgres_text(std::string_view text) const;
  // TLS contexts for the listener and the databases, reloaded with the configuration.
  const TlsContexts& tls() const { return tls_; }
  RandomSource& random() { return random_; }

  // --- called by connections ---
  // The verifier clients of `user` are checked against (derived once from a plain password).
  std::optional<protocol::ScramVerifier> scram_verifier_for(const std::string& user);
  std::string mock_salt_for(const std::string& user) const;
  // A SCRAM verifier, or one derived from a plain password; none for an md5 hash.
  std::optional<protocol::ScramVerifier> scram_verifier_from_secret(const std::string& secret) const;
  // auth_query for a client whose user is not in auth.users: answers with user_looked_up().
  void lookup_user(ClientConnection& client);
  void client_authenticated(ClientConnection& client);
  void authentication_failed(const std::string& database, const std::string& user);
  void request_server(ClientConnection& client);
  // Transaction mode: the client's transaction ended; its server goes back to the pool. False
  // when the client keeps it, pinned by session state that cannot move (keep_pinned).
  bool release_server(ClientConnection& client);
  void client_closed(ClientConnection& client);
  void handle_cancel(pool::CancelKey key);
  // A cancel key for a client's BackendKeyData: the real backend pid when given, else a
  // proxy-made one; the secret is always random.
  pool::CancelKey register_cancel_key(pool::ClientId client, std::optional<std::int32_t> pid);
  void unregister_cancel_key(pool::CancelKey key) { cancels_.remove(key); }
  // Sends a CancelRequest for `server`'s backend on a fresh connection.
  void forward_cancel(ServerConnection& server);

  // A server connection's callback is running (its read loop, or its close). Client code that
  // would run a client's buffered requests waits until it has returned (resume_client_later), so
  // a transaction's end never re-enters client code from inside the server's read loop.
  class ServerCallbackScope {
   public:
    explicit ServerCallbackScope(Proxy& proxy) : proxy_(proxy) { ++proxy_.server_callbacks_; }
    ~ServerCallbackScope() {
      if (--proxy_.server_callbacks_ == 0 && !proxy_.resumes_.empty()) proxy_.resume_clients();
    }
    ServerCallbackScope(const ServerCallbackScope&) = delete;
    ServerCallbackScope& operator=(const ServerCallbackScope&) = delete;

   private:
    Proxy& proxy_;
  };
  bool inside_server_callback() const { return server_callbacks_ > 0; }
  // Handles the client's buffered input once the server callbacks on the stack have returned
  // (still in the same loop turn: no extra wait, no allocation).
  void resume_client_later(pool::ClientId id) { resumes_.push_back(id); }

  void server_ready(ServerConnection& server);
  void server_login_failed(ServerConnection& server, OwnedError error);
  void server_synced(ServerConnection& server, bool ok);
  void server_released(ServerConnection& server, bool reusable);
  // ServerConnection::read_back_settings finished (`ok`: the query succeeded).
  void settings_read_back(ServerConnection& server, bool ok,
                          const std::vector<std::pair<std::string, std::string>>& values);
  void server_closed(ServerConnection& server);

  std::size_t client_count() const { return clients_.size(); }
  ProxyCounters& counters() { return counters_; }
  // One statement finished: query stats, failed/slow-query log.
  // `shape_key`: sql::query_shape(sql).key when the caller has it, else 0.
  void query_finished(ClientConnection& client, const std::string& sql, std::uint64_t shape_key,
                      const std::string& statement,
                      const session::RequestError* error, std::uint64_t rows, std::chrono::microseconds elapsed,
                      std::chrono::microseconds wait);
  // A statement failed with a transient error and runs again after `delay`: the retry record.
  void query_retried(ClientConnection& client, const std::string& sql, const std::string& statement,
                     const session::RequestError& error, std::chrono::microseconds elapsed, int attempt, Duration delay);
  // A statement text's fingerprint and its hash (the query statistics key). Texts that differ
  // only in literals share one cache entry (sql::query_shape), so the fingerprint string is built
  // once per query shape, not per query.
  struct Fingerprint {
    std::string text;
    std::uint64_t hash = 0;
  };
  const Fingerprint& fingerprint_of(std::string_view sql, std::uint64_t shape_key = 0);
  const session::QueryStatsStore& query_stats() const { return query_stats_; }
  QueryLog& query_log() { return query_log_; }
  // Prometheus text for /metrics.
  std::string render_metrics() const;
  // /readyz: accepting clients, not shutting down, and every pool can reach its backend.
  bool ready() const;
  bool shutting_down() const { return shutting_down_; }
  session::StatementRewriter& statement_rewriter() { return rewriter_; }
  // What a statement text does to session state (PostgreSQL's parser, cached per loop).
  sql::SessionStatementClassifier& session_classifier() { return session_classifier_; }
  sql::ShapeCache& shape_cache() { return shape_cache_; }
  const session::StatementStats& statement_stats() const { return statement_stats_; }

 private:
  friend class AdminView;
  friend class PoolListener;
  void accept(std::unique_ptr<io::TcpTransport> transport);
  PoolEntry& pool_for(const std::string& database, const std::string& user, const config::DatabaseConfig& db);
  void run(PoolEntry& pool, std::vector<pool::PoolAction>& actions);
  // A vector for pool actions lent by the proxy and given back (emptied, capacity kept) at the
  // end of the scope, so requesting and releasing a server allocates nothing. Nested uses
  // (run -> assign -> a release inside it) each get their own.
  class LentActions {
   public:
    explicit LentActions(Proxy& proxy) : proxy_(proxy) {
      if (!proxy_.spare_actions_.empty()) {
        actions = std::move(proxy_.spare_actions_.back());
        proxy_.spare_actions_.pop_back();
      }
    }
    ~LentActions() {
      actions.clear();
      if (proxy_.spare_actions_.size() < kMaxSpareActions) proxy_.spare_actions_.push_back(std::move(actions));
    }
    LentActions(const LentActions&) = delete;
    LentActions& operator=(const LentActions&) = delete;
    std::vector<pool::PoolAction> actions;

   private:
    static constexpr std::size_t kMaxSpareActions = 8;
    Proxy& proxy_;
  };
  std::vector<std::vector<pool::PoolAction>> spare_actions_;
  void assign(PoolEntry& pool, ClientConnection& client, ServerConnection& server, bool params_match, bool check);
  void fail_client(PoolEntry& pool, ClientConnection& client, pool::FailReason reason);
  // ---- pinning (proxy_pinning.cpp) ----
  // At a transaction end: true when the client keeps its server (temporary tables, session
  // advisory locks, WITH HOLD cursors, LOAD), with the info log line when that starts or ends.
  bool keep_pinned(ClientConnection& client, ServerConnection& server);
  // The client left while its session held such state: its server is cleaned with DISCARD ALL
  // (closed when that fails, or after LOAD, which nothing undoes). False when there was none.
  bool reset_pinned_server(ClientConnection& client, ServerConnection& server);
  // Clients of `pool` pinned to their server now.
  std::size_t pinned_clients(const PoolEntry& pool) const;
  // Logins waiting for the pool's first server (only to learn its parameters) that need not
  // wait for a server any longer complete without one.
  void complete_waiting_logins(PoolEntry& pool);
  void tick();
  void destroy_server(pool::ServerId id);
  auth::BackendCredentials backend_credentials(const PoolEntry& pool) const;
  config::PoolMode mode_for(const config::DatabaseConfig& db, const std::string& user) const;
  std::size_t database_client_count(const std::string& database) const;
  void maybe_finish_shutdown();
  void schedule_reap();
  // A query-log event for one of `client`'s statements; `application_name` keeps the text alive.
  static QueryEvent query_event(ClientConnection& client, const std::string& sql, const std::string& statement,
                                std::chrono::microseconds elapsed, std::string& application_name);
  TimePoint now() const { return loop_.now(); }

  io::EventLoop& loop_;
  std::shared_ptr<const config::Config> config_;
  spdlog::logger& log_;
  RandomSource random_;
  io::TcpListener listener_;
  io::UnixListener unix_listener_;  // listen.unix_socket_dir
  io::Timer tick_timer_;
  io::Timer shutdown_timer_;
  std::string mock_secret_;
  pool::ClientId next_client_id_ = 0;
  pool::ServerId next_server_id_ = 0;
  std::unordered_map<pool::ClientId, std::unique_ptr<ClientConnection>> clients_;
  std::unordered_map<pool::ServerId, std::unique_ptr<ServerConnection>> servers_;
  std::map<std::string, pool::DatabaseCapacity> capacities_;  // by client-facing database name
  std::map<std::pair<std::string, std::string>, std::unique_ptr<PoolEntry>> pools_;
  std::map<std::string, protocol::ScramVerifier> verifiers_;
  pool::CancelRegistry cancels_;
  ProxyCounters counters_;
  TlsContexts tls_;
  QueryLog query_log_;
  session::QueryStatsStore query_stats_;
  pool::SettingsInterner settings_interner_;
  sql::SessionStatementClassifier session_classifier_;
  sql::ShapeCache shape_cache_;  // Parse texts, which repeat with every execution
  pool::StartupParametersInterner startup_parameters_interner_;
  std::unordered_map<std::uint64_t, Fingerprint> fingerprints_;  // sql::query_shape key -> (bounded)
  session::StatementRegistry statements_;
  session::StatementStats statement_stats_;
  session::StatementRewriter rewriter_{statements_, statement_stats_};
  std::unordered_map<pool::ServerId, pool::ClientId> pending_links_;  // servers syncing for a client
  // Servers assigned to a client while a cancel for their last query was still being delivered
  // (ServerConnection::cancel_in_flight): the assignment goes on once it is.
  struct DeferredAssign {
    pool::ClientId client = 0;
    bool params_match = false;
    bool check = false;
  };
  std::unordered_map<pool::ServerId, DeferredAssign> awaiting_cancel_;
  // A CancelRequest forwarded for `server` ended: an assignment that waited for it goes on.
  void cancel_finished(pool::ServerId server, CancelForwarder::Outcome outcome);
  bool shutting_down_ = false;
  int server_callbacks_ = 0;  // ServerCallbackScopes open on this loop's stack
  std::vector<pool::ClientId> resumes_;   // clients whose buffered input waits for those scopes
  std::vector<pool::ClientId> resuming_;  // the batch resume_clients() runs (storage kept)
  bool resuming_now_ = false;
  void resume_clients();
  // Closed connections wait here for the next loop turn: their callbacks may be on the stack.
  std::vector<std::unique_ptr<ServerConnection>> dying_servers_;
  std::vector<pool::ClientId> dying_clients_;
  std::unordered_map<CancelForwarder*, std::unique_ptr<CancelForwarder>> cancel_forwarders_;
  std::vector<std::unique_ptr<CancelForwarder>> dying_forwarders_;
  bool reap_scheduled_ = false;
  UserLookup user_lookup_{loop_, log_, [this](pool::ClientId id, const UserLookupResult& r) { user_looked_up(id, r); }};
  void user_looked_up(pool::ClientId id, const UserLookupResult& result);
  std::set<std::string> paused_databases_;  // "" = all
  std::function<std::string()> reload_;
  AdminView admin_view_{*this, [this] { return reload_ ? reload_() : std::string("reload is not available"); }};
};

}  // namespace ouroboros::proxy
