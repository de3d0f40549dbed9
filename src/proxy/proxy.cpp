#include "proxy/proxy.h"

#include <algorithm>

#include "common/hot_log.h"
#include "protocol/sqlstate.h"
#include "proxy/client_connection.h"
#include "proxy/errors.h"
#include "sql/error_redact.h"
#include "sql/fingerprint.h"
#include "sql/query_shape.h"

namespace ouroboros::proxy {

namespace {
// How often pools check timeouts, idle servers and backoff deadlines.
constexpr Duration kTickInterval = std::chrono::milliseconds(100);

std::string ms(Duration d) { return std::to_string(d.count()) + "ms"; }

// Login failures worth retrying: the network, a starting or overloaded server. Errors about a
// setting (class 22 data exception, 42 e.g. unknown parameter) concern the client's own startup
// parameters; anything else (wrong credentials, no such database) fails the whole pool alike.
pool::ConnectFailure classify_login_failure(const std::string& sqlstate, bool client_parameters) {
  if (sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("53", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03")
    return pool::ConnectFailure::Transient;
  if (client_parameters && (sqlstate.rfind("22", 0) == 0 || sqlstate.rfind("42", 0) == 0))
    return pool::ConnectFailure::ParametersRejected;
  return pool::ConnectFailure::Rejected;
}

// For the query_wait_timeout error: servers held between transactions by pinned clients.
std::string pinned_note(std::size_t pinned) {
  if (pinned == 0) return "";
  return " (" + std::to_string(pinned) + " kept by pinned clients, see SHOW CLIENTS)";
}

bool same_backend(const config::DatabaseConfig& a, const config::DatabaseConfig& b) {
  return a.host == b.host && a.port == b.port && a.dbname == b.dbname && a.user == b.user &&
         a.password == b.password && a.tls.mode == b.tls.mode && a.tls.ca_file == b.tls.ca_file &&
         a.tls.cert_file == b.tls.cert_file && a.tls.key_file == b.tls.key_file &&
         a.tls.server_name == b.tls.server_name;
}
}  // namespace

pool::PoolLimits pool_limits(const config::PoolSettings& s) {
  pool::PoolLimits limits;
  limits.size = s.size;
  limits.min_size = s.min_size;
  limits.reserve_size = s.reserve_size;
  limits.reserve_timeout = s.reserve_timeout;
  limits.server_idle_timeout = s.server_idle_timeout;
  limits.server_lifetime = s.server_lifetime;
  limits.server_check_delay = s.server_check_delay;
  limits.query_wait_timeout = s.query_wait_timeout;
  limits.fail_fast = s.fail_fast;
  limits.backoff = {s.backoff.initial, s.backoff.max, s.backoff.multiplier, s.backoff.jitter};
  return limits;
}

Proxy::Proxy(io::EventLoop& loop, std::shared_ptr<const config::Config> config, spdlog::logger& log,
             spdlog::logger& raw_log)
    : loop_(loop),
      config_(std::move(config)),
      log_(log),
      random_(RandomSource::from_entropy()),
      listener_(loop, [this](std::unique_ptr<io::TcpTransport> t) { accept(std::move(t)); }),
      unix_listener_(loop, [this](std::unique_ptr<io::TcpTransport> t) { accept(std::move(t)); }),
      tick_timer_(loop),
      shutdown_timer_(loop),
      mock_secret_(protocol::random_nonce(32)),
      query_log_(log, raw_log),
      query_stats_(config_->query_stats.max_fingerprints) {
  query_log_.configure(config_->logging);
}

Proxy::~Proxy() {
  // Connections reference the proxy and its pools; drop them before the other members go.
  clients_.clear();
  servers_.clear();
  dying_servers_.clear();
  cancel_forwarders_.clear();
  dying_forwarders_.clear();
  pools_.clear();
}

std::string Proxy::start() {
  std::string error = tls_.load(*config_);
  if (!error.empty()) return error;
  error = listener_.listen(config_->listen.host, config_->listen.port);
  if (!error.empty()) return error;
  if (!config_->listen.unix_socket_dir.empty()) {
    // Named after the TCP port (the one bound, when port 0 picked it), as libpq expects.
    error = unix_listener_.listen(config_->listen.unix_socket_dir, listener_.bound_port());
    if (!error.empty()) return error;
  }
  tick_timer_.start_repeating(kTickInterval, [this] { tick(); });
  log_.info("listening on {}:{}", config_->listen.host, listener_.bound_port());
  if (unix_listener_.is_open()) log_.info("listening on Unix socket {}", unix_listener_.path());
  return "";
}

void Proxy::accept(std::unique_ptr<io::TcpTransport> transport) {
  if (shutting_down_) {
    counters_.reject(Rejection::Shutdown);
    return;  // the transport closes as it goes out of scope
  }
  counters_.client_connections.inc();
  std::size_t limit = config_->limits.max_client_connections;
  // Over the limit the client still gets a proper 53300 after its startup packet; far over it
  // (a flood) the socket is closed at once so memory stays bounded.
  if (clients_.size() >= 2 * limit + 64) return;
  pool::ClientId id = ++next_client_id_;
  auto client = std::make_unique<ClientConnection>(*this, id, std::move(transport), clients_.size() >= limit);
  ClientConnection& ref = *client;
  clients_.emplace(id, std::move(client));
  ref.start();
}

std::optional<protocol::ScramVerifier> Proxy::scram_verifier_for(const std::string& user) {
  auto it = config_->auth.users.find(user);
  if (it == config_->auth.users.end()) return std::nullopt;
  const std::string& secret = it->second.password;
  if (protocol::is_scram_verifier(secret)) return protocol::ScramVerifier::parse(secret);
  if (protocol::is_md5_hash(secret)) return std::nullopt;
  auto cached = verifiers_.find(user);
  if (cached != verifiers_.end()) return cached->second;
  // Derived once per user: PBKDF2 with 4096 rounds is too slow to repeat on every login.
  auto verifier = protocol::ScramVerifier::from_password(secret, protocol::random_nonce(16).substr(0, 16));
  verifiers_.emplace(user, verifier);
  return verifier;
}

std::string Proxy::mock_salt_for(const std::string& user) const {
  // Stable per user name, so repeated probes of an unknown user see the same salt.
  std::size_t h = std::hash<std::string>{}(mock_secret_ + '\0' + user);
  return std::string(reinterpret_cast<const char*>(&h), sizeof(h)) + mock_secret_.substr(0, 8);
}

std::optional<protocol::ScramVerifier> Proxy::scram_verifier_from_secret(const std::string& secret) const {
  if (protocol::is_scram_verifier(secret)) return protocol::ScramVerifier::parse(secret);
  if (protocol::is_md5_hash(secret) || secret.empty()) return std::nullopt;
  return protocol::ScramVerifier::from_password(secret, protocol::random_nonce(16).substr(0, 16));
}

void Proxy::lookup_user(ClientConnection& client) {
  auto db = config_->find_database(client.database());
  if (!db) {
    // No server to ask: refused like an unknown user (as in PostgreSQL, a missing database is
    // only reported to clients that authenticated).
    UserLookupResult result;
    result.note = " (no database entry \"" + client.database() + "\" to run auth_query against)";
    pool::ClientId id = client.id();
    loop_.defer([this, id, result] { user_looked_up(id, result); });
    return;
  }
  user_lookup_.lookup(*config_->auth.query, *db, config_->timeouts.server_connect_timeout, client.user(),
                      client.id());
}

void Proxy::user_looked_up(pool::ClientId id, const UserLookupResult& result) {
  auto it = clients_.find(id);
  if (it == clients_.end() || it->second->state() != ClientConnection::State::Authenticating) return;
  it->second->user_looked_up(result);
}

config::PoolMode Proxy::mode_for(const config::DatabaseConfig& db, const std::string& user) const {
  auto it = config_->auth.users.find(user);
  if (it != config_->auth.users.end() && it->second.pool_mode) return *it->second.pool_mode;
  return db.pool.mode;
}

PoolEntry& Proxy::pool_for(const std::string& database, const std::string& user, const config::DatabaseConfig& db) {
  auto key = std::make_pair(database, user);
  auto it = pools_.find(key);
  if (it != pools_.end()) return *it->second;
  pool::DatabaseCapacity& capacity = capacities_[database];
  capacity.max_connections = db.pool.max_db_connections;
  auto entry = std::make_unique<PoolEntry>(database, user, db, pool_limits(db.pool), next_server_id_, capacity, random_);
  PoolEntry& ref = *entry;
  pools_.emplace(key, std::move(entry));
  return ref;
}

auth::BackendCredentials Proxy::backend_credentials(const PoolEntry& pool) const {
  if (pool.db.user) {
    return auth::BackendCredentials::from_secret(*pool.db.user, pool.db.password.value_or(""), std::nullopt);
  }
  std::string secret = pool.db.password.value_or("");
  if (secret.empty()) {
    auto it = config_->auth.users.find(pool.user);
    if (it != config_->auth.users.end()) secret = it->second.password;
    else if (pool.looked_up_secret) secret = *pool.looked_up_secret;
  }
  return auth::BackendCredentials::from_secret(pool.user, secret, pool.scram_keys);
}

std::size_t Proxy::database_client_count(const std::string& database) const {
  std::size_t n = 0;
  for (const auto& [id, c] : clients_)
    if (c->pool_entry() && c->pool_entry()->database == database && c->state() != ClientConnection::State::Closed) ++n;
  return n;
}

void Proxy::client_authenticated(ClientConnection& client) {
  if (client.database() == "ouroboros") {
    // The admin console: users listed in admin.users (everything) or admin.stats_users (SHOW).
    auto listed = [&](const std::vector<std::string>& users) {
      return std::find(users.begin(), users.end(), client.user()) != users.end();
    };
    bool admin = listed(config_->admin.users);
    if (!admin && !listed(config_->admin.stats_users)) {
      counters_.reject(Rejection::Authentication);
      client.fail(fatal("42501", "permission denied for the admin console",
                        "user \"" + client.user() + "\" is not in admin.users or admin.stats_users"));
      return;
    }
    client.start_admin(admin);
    return;
  }
  auto db = config_->find_database(client.database());
  if (!db) {
    counters_.reject(Rejection::UnknownDatabase);
    client.fail(fatal(sqlstate::kInvalidCatalogName, "database \"" + client.database() + "\" does not exist",
                      "no such database is configured in the proxy"));
    return;
  }
  if (db->pool.max_client_connections > 0 && database_client_count(client.database()) >= db->pool.max_client_connections) {
    counters_.reject(Rejection::TooManyClients);
    client.fail(fatal(sqlstate::kTooManyConnections,
                      "too many clients for database \"" + client.database() + "\" (max_client_connections " +
                          std::to_string(db->pool.max_client_connections) + ")"));
    return;
  }
  PoolEntry& pool = pool_for(client.database(), client.user(), *db);
  if (pool.paused != (paused_databases_.count("") || paused_databases_.count(client.database()))) {
    LentActions lent(*this);
    std::vector<pool::PoolAction>& actions = lent.actions;
    pool.paused = !pool.paused;
    pool.servers.set_paused(pool.paused, now(), actions);
    run(pool, actions);
  }
  if (client.scram_keys()) pool.scram_keys = client.scram_keys();
  if (const std::string* secret = client.looked_up_secret()) pool.looked_up_secret = *secret;
  client.set_pool(&pool, mode_for(pool.db, client.user()));
  // A login never waits for a server another client holds. Session mode binds a server at login
  // when one is free (the client sees its real backend pid); otherwise, and always in
  // transaction and statement mode, the login completes from the pool's cached parameters and
  // a server is assigned at the first request. Only a pool that never had a server connects
  // one first, to learn them.
  bool bind_now = client.mode() == config::PoolMode::Session && pool.servers.can_serve_now(now());
  if (!pool.login_parameters.empty() && !bind_now) {
    client.login_without_server(pool.login_parameters.for_client(client.desired_settings()));
    return;
  }
  client.wait_for_server();
  request_server(client);
}

void Proxy::complete_waiting_logins(PoolEntry& pool) {
  // Nobody queued in the pool (the usual case): no need to look through every client.
  if (pool.login_parameters.empty() || pool.servers.waiting_count() == 0) return;
  std::vector<ClientConnection*> waiting;
  for (auto& [id, c] : clients_)
    if (c->pool_entry() == &pool && c->state() == ClientConnection::State::WaitingForServer && !c->logged_in())
      waiting.push_back(c.get());
  // Oldest first, like the pool's own queue.
  std::sort(waiting.begin(), waiting.end(), [](auto* a, auto* b) { return a->id() < b->id(); });
  for (ClientConnection* c : waiting) {
    if (c->mode() == config::PoolMode::Session && pool.servers.can_serve_now(now())) continue;
    // A client already assigned a server (being aligned for it) keeps it.
    if (!pool.servers.cancel_request(c->id())) continue;
    c->login_without_server(pool.login_parameters.for_client(c->desired_settings()));
  }
}

void Proxy::request_server(ClientConnection& client) {
  PoolEntry* pool = client.pool_entry();
  if (!pool) return;
  // Session servers start with the client's parameters; transaction servers are aligned by SET.
  std::string key = client.mode() == config::PoolMode::Session ? pool::parameters_key(client.parameters()) : "";
  OURO_DEBUG(log_, "client {}: waiting for a server of pool {}/{}", client.id(), pool->database, pool->user);
  // The usual case, an idle server free for the taking, without a pool action.
  if (auto taken = pool->servers.take_idle(key, now())) {
    auto s = servers_.find(taken->server);
    if (s != servers_.end()) assign(*pool, client, *s->second, true, taken->needs_check);
    return;
  }
  LentActions lent(*this);
  std::vector<pool::PoolAction>& actions = lent.actions;
  pool->servers.request(client.id(), std::move(key), now(), actions);
  run(*pool, actions);
}

bool Proxy::release_server(ClientConnection& client) {
  ServerConnection* server = client.server();
  PoolEntry* pool = client.pool_entry();
  if (!server || !pool) return true;
  // Advisory locks that may not be held (a try-lock that failed) would pin for nothing: the
  // server says how many the session holds, with the settings read-back below.
  const bool check_locks = client.take_advisory_lock_check();
  if (!check_locks && keep_pinned(client, *server)) return false;
  if (check_locks || client.settings_unknown()) {
    // Values only this server knows (set_config() with computed arguments): learn them first.
    // The client waits, not reading, and the server is released (or kept) once they are known.
    client.pause_reading();
    server->read_back_settings(client.settings_unknown() ? client.session_state()->settings().pending_readback()
                                                         : std::set<std::string>{},
                               check_locks);
    return true;
  }
  OURO_DEBUG(log_, "client {}: transaction done, server {} back to the pool", client.id(), server->id());
  client.settle_session_changes(*server);
  if (server->listened()) {
    // The client ran LISTEN there: UNLISTEN * (hidden) before the pool lends the server again.
    server->unlink_and_reset(false);
    client.unlinked();
    return true;
  }
  server->unlink();
  client.unlinked();
  LentActions lent(*this);
  std::vector<pool::PoolAction>& actions = lent.actions;
  pool->servers.release(server->id(), !shutting_down_, now(), actions);
  run(*pool, actions);
  return true;
}

void Proxy::run(PoolEntry& pool, std::vector<pool::PoolAction>& actions) {
  // Actions may produce more actions (a failed check frees a server): drain until empty.
  while (!actions.empty()) {
    LentActions lent(*this);
    std::vector<pool::PoolAction>& batch = lent.actions;
    batch.swap(actions);
    for (auto& action : batch) {
      switch (action.kind) {
        case pool::PoolAction::Kind::Connect: {
          // A session server starts with the parameters of the client it is opened for.
          pool::StartupParameters params;
          if (!action.params_key.empty()) {
            for (auto& [id, c] : clients_) {
              if (c->state() == ClientConnection::State::WaitingForServer && c->pool_entry() == &pool &&
                  pool::parameters_key(c->parameters()) == action.params_key) {
                params = c->parameters();
                break;
              }
            }
          }
          pool.counters.server_connect_attempts.inc();
          auto server = std::make_unique<ServerConnection>(*this, pool, action.server, std::move(params));
          ServerConnection& ref = *server;
          servers_.emplace(action.server, std::move(server));
          ref.start(backend_credentials(pool));
          break;
        }
        case pool::PoolAction::Kind::Assign: {
          auto c = clients_.find(action.client);
          auto s = servers_.find(action.server);
          if (s == servers_.end()) break;
          if (c == clients_.end() || c->second->state() != ClientConnection::State::WaitingForServer) {
            pool.servers.release(action.server, true, now(), actions);
            break;
          }
          assign(pool, *c->second, *s->second, action.params_match, action.needs_check);
          break;
        }
        case pool::PoolAction::Kind::FailClient: {
          auto c = clients_.find(action.client);
          if (c != clients_.end()) fail_client(pool, *c->second, action.reason);
          break;
        }
        case pool::PoolAction::Kind::CloseServer: {
          auto s = servers_.find(action.server);
          if (s != servers_.end()) s->second->close("closed by the pool (idle timeout, lifetime or retirement)");
          break;
        }
      }
    }
  }
}

void Proxy::fail_client(PoolEntry& pool, ClientConnection& client, pool::FailReason reason) {
  Duration wait = pool.db.pool.query_wait_timeout;
  if (reason == pool::FailReason::LoginRejected && pool.last_connect_error) {
    client.fail(pool.last_connect_error->spec());
    return;
  }
  if (reason == pool::FailReason::BackendUnavailable) {
    OwnedError error = pool.last_connect_error.value_or(
        OwnedError{"FATAL", std::string(sqlstate::kConnectionFailure), "could not connect to server", {}});
    error.severity = "FATAL";
    error.detail = pool.db.pool.fail_fast ? "fail_fast is set and the database is unreachable"
                                          : "waited " + ms(wait) + " (query_wait_timeout) while the database was unreachable";
    client.fail(error.spec());
    return;
  }
  client.fail(fatal(sqlstate::kQueryCanceled,
                    "query_wait_timeout: no server connection became free within " + ms(wait),
                    "pool " + pool.database + "/" + pool.user + " has all " +
                        std::to_string(pool.db.pool.size) + " servers in use" +
                        pinned_note(pinned_clients(pool))));
}

void Proxy::assign(PoolEntry& pool, ClientConnection& client, ServerConnection& server, bool params_match, bool check) {
  if (server.cancel_in_flight()) {
    // PostgreSQL's second signal of a cancel for this server's last query may still come: the
    // client's request waits until PostgreSQL has closed the cancel connection.
    log_.info("client {}: server {} is assigned once the cancel of its last query is delivered", client.id(),
              server.id());
    awaiting_cancel_[server.id()] = {client.id(), params_match, check};
    return;
  }
  std::optional<std::string> sql;
  pool::Settings applied;
  if (client.mode() == config::PoolMode::Session) {
    if (!params_match) {
      sql = pool::sync_sql(server.startup_parameters(), client.parameters());
      if (!sql) {
        // SET cannot make this server equal to a fresh one: replace it.
        LentActions lent(*this);
        std::vector<pool::PoolAction>& actions = lent.actions;
        pool.servers.release(server.id(), false, now(), actions);
        pool.servers.request(client.id(), pool::parameters_key(client.parameters()), now(), actions, true);
        run(pool, actions);
        return;
      }
    }
  } else {
    // Transaction mode: the server gets the settings this client expects (its startup
    // parameters and what it SET since), and loses those an earlier client had applied. At login
    // the client expects PostgreSQL's own defaults for everything it did not send.
    if (!client.logged_in()) {
      pool::Settings login = server.baseline_settings();
      for (const auto& [name, value] : client.desired_settings()) login[name] = value;
      client.set_desired_settings(std::move(login));
    }
    // The usual case costs one comparison: the server was last aligned to equal settings.
    if (server.aligned_settings() != client.settings_hash()) {
      sql = pool::transaction_sync_sql(server.current_settings(), server.applied_settings(),
                                       client.desired_settings());
      for (const auto& [name, value] : client.desired_settings())
        if (!server.parameter_status().count(name)) applied[name] = value;
      // Reported parameters are spelled in mixed case by the server; keep only unreported ones.
      for (const auto& [name, value] : server.parameter_status()) applied.erase(pool::lower_name(name));
      if (sql->empty()) server.mark_aligned(client.settings_hash());
    }
  }
  OURO_DEBUG(log_, "client {}: gets server {}{}", client.id(), server.id(), check ? " (checking it first)" : "");
  if (sql && sql->empty()) sql.reset();
  const bool settings_differ = client.mode() != config::PoolMode::Session && sql.has_value();
  if (!sql && check) sql = "";  // an empty query: the cheapest round trip that proves the server alive
  if (server.cancel_sent() && client.mode() != config::PoolMode::Session) {
    // Absorbs a late duplicate of the cancel signal before another client's statement runs.
    sql = "SELECT 1;" + sql.value_or("");
    server.clear_cancel_sent();
  }
  // SQL-level prepared statements: the server gets exactly this client's, in the same round trip.
  std::vector<std::string> statements;
  if (client.mode() != config::PoolMode::Session) statements = client.sql_statements_sync(server);
  if (!sql && statements.empty()) {
    client.link(&server);
    return;
  }
  if (settings_differ || !statements.empty()) pool.counters.server_syncs.inc();
  pending_links_[server.id()] = client.id();
  server.run_internal(sql.value_or(""), std::move(applied), statements);
}

void Proxy::resume_clients() {
  // A client resumed here may end in a server callback that queues more: those run in the next
  // round of this loop, after this batch (not in a nested call, which would swap the batch).
  if (resuming_now_) return;
  resuming_now_ = true;
  while (!resumes_.empty()) {
    resuming_.swap(resumes_);
    for (pool::ClientId id : resuming_) {
      auto it = clients_.find(id);
      if (it != clients_.end() && it->second->state() != ClientConnection::State::Closed)
        it->second->read_buffered_input();
    }
    resuming_.clear();
  }
  resuming_now_ = false;
}

void Proxy::server_synced(ServerConnection& server, bool ok) {
  auto pending = pending_links_.find(server.id());
  if (pending == pending_links_.end()) return;
  pool::ClientId client_id = pending->second;
  pending_links_.erase(pending);
  auto c = clients_.find(client_id);
  bool client_waiting = c != clients_.end() && c->second->state() == ClientConnection::State::WaitingForServer;
  PoolEntry& pool = server.pool_entry();
  LentActions lent(*this);
  std::vector<pool::PoolAction>& actions = lent.actions;
  bool cancelled = server.internal_error() && server.internal_error()->sqlstate == sqlstate::kQueryCanceled;
  // SQL-level prepared statements: the server's record keeps what of the alignment ran.
  using SqlSync = session::ServerSqlStatements::SyncResult::Kind;
  const auto statements = server.sql_statements().finish_sync(ok, server.internal_completed());
  if (statements.kind == SqlSync::PrepareFailed && server.internal_error() && !cancelled) {
    // PostgreSQL refused the client's statement (a table dropped since): the server is fine. The
    // error is copied first: the server may be assigned (and run another query) at once.
    const OwnedError error = *server.internal_error();
    server.mark_aligned(0);  // the settings query before the batch may have changed the server
    pool.servers.release(server.id(), server.transaction_status() == 'I', now(), actions);
    run(pool, actions);
    if (client_waiting) c->second->sql_statement_not_recreated(statements.name, error.spec());
    return;
  }
  if (statements.kind == SqlSync::DeallocateFailed) {
    log_.warn("server {}: SQL-level prepared statement \"{}\" was not there; closing the server", server.id(),
              statements.name);
    pool.servers.release(server.id(), false, now(), actions);
    if (client_waiting) request_server(*c->second);
    run(pool, actions);
    return;
  }
  if (!ok && server.internal_error() && server.transaction_status() == 'I' && !cancelled) {
    // PostgreSQL rejected one of the client's settings: that is the client's error (as it would
    // be on a direct connection); the server itself is fine and unchanged.
    pool.servers.release(server.id(), true, now(), actions);
    if (client_waiting) c->second->fail(server.internal_error()->spec());
    run(pool, actions);
    return;
  }
  if (!ok) {
    log_.warn("server {}: check or parameter sync failed; closing it", server.id());
    pool.servers.release(server.id(), false, now(), actions);
    if (client_waiting) request_server(*c->second);
    run(pool, actions);
    return;
  }
  if (!client_waiting) {
    pool.servers.release(server.id(), true, now(), actions);
    run(pool, actions);
    return;
  }
  if (c->second->mode() != config::PoolMode::Session) {
    if (c->second->logged_in()) c->second->adopt_reported_settings(server.parameter_status());
    server.mark_aligned(c->second->settings_hash());
  }
  c->second->link(&server);
}

void Proxy::client_closed(ClientConnection& client) {
  pool::ClientId id = client.id();
  if (ServerConnection* server = client.server()) {
    if (client.mode() != config::PoolMode::Session) client.settle_session_changes(*server);
    if (!reset_pinned_server(client, *server))
      server->unlink_and_reset(client.mode() == config::PoolMode::Session);
  } else if (PoolEntry* pool = client.pool_entry()) {
    pool->servers.cancel_request(id);
  }
  dying_clients_.push_back(id);
  schedule_reap();
}

void Proxy::authentication_failed(const std::string& database, const std::string& user) {
  // A client's wrong password counts as a class-28 error of its pool, when the pool exists.
  auto it = pools_.find({database, user});
  if (it != pools_.end()) it->second->counters.errors.inc("28P01");
}

pool::CancelKey Proxy::register_cancel_key(pool::ClientId client, std::optional<std::int32_t> pid) {
  auto random_pid = [this] { return static_cast<std::int32_t>(random_.u32() & 0x3fffffff) + 1; };
  pool::CancelKey key{pid.value_or(random_pid()), static_cast<std::int32_t>(random_.u32())};
  while (cancels_.contains(key)) key.key = static_cast<std::int32_t>(random_.u32());
  cancels_.add(key, client);
  return key;
}

void Proxy::handle_cancel(pool::CancelKey key) {
  auto client_id = cancels_.find(key);
  if (!client_id) {
    log_.debug("cancel request with unknown key ignored");
    return;
  }
  auto c = clients_.find(*client_id);
  if (c == clients_.end()) return;
  if (c->second->state() == ClientConnection::State::WaitingForServer && c->second->logged_in()) {
    // The request is still queued for a server: it is answered here and never runs.
    log_.info("cancel request for client {}: its request was waiting for a server", *client_id);
    c->second->cancel_waiting_request();
    return;
  }
  // Only the server the client uses right now is cancelled; an idle client has nothing to cancel.
  if (!c->second->server() || c->second->state() != ClientConnection::State::Linked) return;
  ServerConnection* server = c->second->server();
  auto backend = server->backend_key();
  log_.info("forwarding cancel request for client {} to server {} (pid {})", *client_id, server->id(), backend.pid);
  forward_cancel(*server);
}

void Proxy::forward_cancel(ServerConnection& server) {
  server.mark_cancel_sent();
  auto key = server.backend_key();
  const pool::ServerId server_id = server.id();
  auto forwarder = std::make_unique<CancelForwarder>(
      loop_, server.host(), server.port(), key.pid, key.key,
      [this, server_id](CancelForwarder& done, CancelForwarder::Outcome outcome) {
        auto it = cancel_forwarders_.find(&done);
        if (it == cancel_forwarders_.end()) return;
        dying_forwarders_.push_back(std::move(it->second));
        cancel_forwarders_.erase(it);
        schedule_reap();
        cancel_finished(server_id, outcome);
      });
  CancelForwarder& ref = *forwarder;
  cancel_forwarders_.emplace(&ref, std::move(forwarder));
  ref.start();
}

void Proxy::cancel_finished(pool::ServerId server_id, CancelForwarder::Outcome outcome) {
  auto s = servers_.find(server_id);
  if (s == servers_.end()) return;
  ServerConnection& server = *s->second;
  server.cancel_delivered();
  if (outcome == CancelForwarder::Outcome::Unknown) {
    // PostgreSQL has the request but did not say it acted on it: it may still cancel whatever
    // the backend runs next, so the server serves nobody else (a client waiting for it gets
    // another one, as when a server dies before its request was written).
    log_.warn("server {}: PostgreSQL did not finish a cancel request in time; closing the server", server_id);
    server.close("a cancel request was not finished in time");
    return;
  }
  auto deferred = awaiting_cancel_.find(server_id);
  if (deferred == awaiting_cancel_.end() || server.cancel_in_flight()) return;
  const DeferredAssign assignment = deferred->second;
  awaiting_cancel_.erase(deferred);
  auto c = clients_.find(assignment.client);
  if (c == clients_.end() || c->second->state() != ClientConnection::State::WaitingForServer) {
    server_released(server, true);  // the client left meanwhile: the server goes back to the pool
    return;
  }
  assign(server.pool_entry(), *c->second, server, assignment.params_match, assignment.check);
}

void Proxy::server_ready(ServerConnection& server) {
  if (PoolListener* listener = server.listener()) return listener->server_ready();
  PoolEntry& pool = server.pool_entry();
  if (pool.last_connect_error) log_.info("pool {}/{}: database reachable again", pool.database, pool.user);
  pool.last_connect_error.reset();
  pool.login_parameters.learn(server.parameter_status(), server.startup_parameters());
  LentActions lent(*this);
  std::vector<pool::PoolAction>& actions = lent.actions;
  pool.servers.server_ready(server.id(), now(), actions);
  run(pool, actions);
  complete_waiting_logins(pool);
}

std::string Proxy::loggable_postgres_text(std::string_view text) const {
  return config_->logging.log_literals ? std::string(text) : sql::redact_error_text(text);
}

void Proxy::server_login_failed(ServerConnection& server, OwnedError error) {
  if (PoolListener* listener = server.listener()) return listener->server_login_failed(error);
  PoolEntry& pool = server.pool_entry();
  pool.counters.server_connect_failures.inc();
  pool.counters.errors.inc(error.sqlstate);  // e.g. class 28: the proxy's password for PostgreSQL
  LentActions lent(*this);
  std::vector<pool::PoolAction>& actions = lent.actions;
  auto failure = error.permanent ? pool::ConnectFailure::Rejected
                                 : classify_login_failure(error.sqlstate, !server.startup_parameters().empty());
  pool.servers.connect_failed(server.id(), failure, now(), actions);
  log_.warn("server connection to {}:{} for pool {}/{} failed: {} {}; next attempt in {} (attempt {})",
            server.host(), server.port(), pool.database, pool.user, error.sqlstate,
            error.from_postgres ? loggable_postgres_text(error.message) : error.message,
            ms(pool.servers.current_backoff()), pool.servers.consecutive_failures());
  // A rejected parameter is that client's error, not the pool's state.
  if (failure == pool::ConnectFailure::ParametersRejected) {
    for (auto& action : actions)
      if (action.kind == pool::PoolAction::Kind::FailClient) {
        auto c = clients_.find(action.client);
        if (c != clients_.end()) c->second->fail(error.spec());
        action.client = 0;
      }
  } else {
    pool.last_connect_error = std::move(error);
  }
  destroy_server(server.id());
  run(pool, actions);
}

void Proxy::settings_read_back(ServerConnection& server, bool ok,
                               const std::vector<std::pair<std::string, std::string>>& values) {
  ClientConnection* client = server.client();
  const bool linked = client && client->server() == &server;
  if (linked) client->settings_read_back(values);
  if (!ok) {
    // The server has settings nobody knows: it must not serve anyone else.
    log_.warn("server {}: reading back session settings failed; closing it", server.id());
    if (linked) {
      client->pinned_server_closed("reading back its session state failed");
      server.unlink();
      client->unlinked();
    }
    server_released(server, false);
    return;
  }
  if (linked) {
    // The transaction's end again, with the values known: release, or keep a pinned server (and
    // read the client's next requests).
    client->on_server_boundary();
    return;
  }
  server_released(server, true);  // the client left meanwhile; the server knows its settings
}

void Proxy::server_released(ServerConnection& server, bool reusable) {
  PoolEntry& pool = server.pool_entry();
  LentActions lent(*this);
  std::vector<pool::PoolAction>& actions = lent.actions;
  pool.servers.release(server.id(), reusable && !shutting_down_, now(), actions);
  run(pool, actions);
  maybe_finish_shutdown();
}

void Proxy::server_closed(ServerConnection& server) {
  if (PoolListener* listener = server.listener()) return listener->server_closed();
  PoolEntry& pool = server.pool_entry();
  LentActions lent(*this);
  std::vector<pool::PoolAction>& actions = lent.actions;
  std::optional<pool::ClientId> assigned;  // a client the server was being readied for
  if (auto pending = pending_links_.find(server.id()); pending != pending_links_.end()) {
    assigned = pending->second;
    pending_links_.erase(pending);
  } else if (auto deferred = awaiting_cancel_.find(server.id()); deferred != awaiting_cancel_.end()) {
    assigned = deferred->second.client;
    awaiting_cancel_.erase(deferred);
  }
  if (assigned) {
    // The server died before the client's request was written: try another one, transparently.
    pool::ClientId client_id = *assigned;
    auto c = clients_.find(client_id);
    if (c != clients_.end() && c->second->state() == ClientConnection::State::WaitingForServer)
      pool.servers.request(client_id, c->second->mode() == config::PoolMode::Session
                                          ? pool::parameters_key(c->second->parameters())
                                          : "",
                           now(), actions, true);
  }
  pool.servers.remove(server.id(), now(), actions);
  destroy_server(server.id());
  run(pool, actions);
}

void Proxy::tick() {
  TimePoint t = now();
  for (auto& [key, pool] : pools_) {
    LentActions lent(*this);
    std::vector<pool::PoolAction>& actions = lent.actions;
    pool->servers.tick(t, actions);
    run(*pool, actions);
  }
}

void Proxy::destroy_server(pool::ServerId id) {
  auto it = servers_.find(id);
  if (it == servers_.end()) return;
  // Its callbacks may be on the stack: keep it until the next loop turn.
  dying_servers_.push_back(std::move(it->second));
  servers_.erase(it);
  schedule_reap();
}

void Proxy::schedule_reap() {
  if (reap_scheduled_) return;
  reap_scheduled_ = true;
  loop_.defer([this] {
    reap_scheduled_ = false;
    dying_servers_.clear();
    dying_forwarders_.clear();
    for (auto id : dying_clients_) clients_.erase(id);
    dying_clients_.clear();
    maybe_finish_shutdown();
  });
}

void Proxy::shutdown(std::string_view reason, bool graceful) {
  if (!shutting_down_) {
    shutting_down_ = true;
    listener_.close();
    unix_listener_.close();
    log_.info("shutting down ({}): {}", reason,
              graceful ? "waiting for running transactions up to " + ms(config_->timeouts.shutdown_timeout)
                       : "closing all connections now");
  } else if (graceful) {
    return;
  }
  std::vector<ClientConnection*> clients;
  for (auto& [id, c] : clients_) clients.push_back(c.get());
  for (auto* c : clients) {
    if (graceful) c->request_shutdown();
    else c->fail(fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
  }
  if (graceful) {
    shutdown_timer_.start(config_->timeouts.shutdown_timeout, [this] { shutdown("shutdown_timeout reached", false); });
  }
  // Idle servers go now; busy ones when their client's transaction ends.
  std::vector<ServerConnection*> servers;
  for (auto& [id, s] : servers_) servers.push_back(s.get());
  for (auto* s : servers) {
    if (!graceful || s->state() != ServerConnection::State::Linked) s->close("proxy shutting down");
  }
  maybe_finish_shutdown();
}

void Proxy::maybe_finish_shutdown() {
  if (shutting_down_ && clients_.empty() && dying_servers_.empty()) {
    // Servers left over (idle ones returned during the drain) go now.
    std::vector<ServerConnection*> servers;
    for (auto& [id, s] : servers_) servers.push_back(s.get());
    for (auto* s : servers) s->close("proxy shutting down");
    if (servers_.empty() && dying_servers_.empty()) {
      tick_timer_.stop();
      shutdown_timer_.stop();
      loop_.stop();
    }
  }
}

const Proxy::Fingerprint& Proxy::fingerprint_of(std::string_view sql, std::uint64_t shape_key) {
  std::uint64_t key = shape_key != 0 ? shape_key : sql::query_shape(sql).key;
  auto it = fingerprints_.find(key);
  if (it != fingerprints_.end()) return it->second;
  if (fingerprints_.size() >= 4096) fingerprints_.clear();
  Fingerprint fingerprint{sql::fingerprint(sql), 0};
  fingerprint.hash = std::hash<std::string_view>{}(fingerprint.text);
  return fingerprints_.emplace(key, std::move(fingerprint)).first->second;
}

void Proxy::query_finished(ClientConnection& client, const std::string& sql, std::uint64_t shape_key,
                           const std::string& statement,
                           const session::RequestError* error, std::uint64_t rows, std::chrono::microseconds elapsed,
                           std::chrono::microseconds wait) {
  const Fingerprint& fingerprint = fingerprint_of(sql, shape_key);
  query_stats_.record(fingerprint.hash, fingerprint.text, elapsed, error != nullptr, rows);
  auto threshold = config_->logging.slow_query_threshold;
  bool slow = threshold.count() > 0 && elapsed >= threshold;
  if (!error && !slow) return;
  std::string application_name;
  QueryEvent event = query_event(client, sql, statement, elapsed, application_name);
  event.wait = wait;
  event.rows = rows;
  event.error = error;
  if (error) query_log_.failed(event);
  if (slow) {
    if (PoolEntry* pool = client.pool_entry()) pool->counters.slow_queries.inc();
    query_log_.slow(event);
  }
}

std::string Proxy::pause(const std::string& database, bool paused) {
  if (!database.empty() && !config_->find_database(database)) return "no such database: " + database;
  if (paused) paused_databases_.insert(database);
  else if (database.empty()) paused_databases_.clear();
  else paused_databases_.erase(database);
  for (auto& [key, pool] : pools_) {
    if (!database.empty() && pool->database != database) continue;
    bool now_paused = paused_databases_.count("") || paused_databases_.count(pool->database);
    LentActions lent(*this);
    std::vector<pool::PoolAction>& actions = lent.actions;
    pool->paused = now_paused;
    pool->servers.set_paused(now_paused, now(), actions);
    run(*pool, actions);
  }
  log_.info("{} {}", paused ? "paused" : "resumed", database.empty() ? "all databases" : database);
  return "";
}

std::string Proxy::reconnect(const std::string& database) {
  if (!database.empty() && !config_->find_database(database)) return "no such database: " + database;
  for (auto& [key, pool] : pools_) {
    if (!database.empty() && pool->database != database) continue;
    LentActions lent(*this);
    std::vector<pool::PoolAction>& actions = lent.actions;
    pool->servers.retire_all(now(), actions);
    run(*pool, actions);
  }
  return "";
}

std::string Proxy::kill(const std::string& database) {
  if (database.empty() || !config_->find_database(database)) return "no such database: " + database;
  // Like PgBouncer: every connection of the database goes, and it stays paused until RESUME.
  pause(database, true);
  std::vector<ClientConnection*> victims;
  for (auto& [id, c] : clients_)
    if (c->pool_entry() && c->pool_entry()->database == database) victims.push_back(c.get());
  for (auto* c : victims) c->fail(fatal(sqlstate::kAdminShutdown, "database \"" + database + "\" was killed by an administrator"));
  std::vector<ServerConnection*> servers;
  for (auto& [id, s] : servers_)
    if (s->pool_entry().database == database) servers.push_back(s.get());
  for (auto* s : servers) s->close("killed by an administrator");
  return "";
}

QueryEvent Proxy::query_event(ClientConnection& client, const std::string& sql, const std::string& statement,
                              std::chrono::microseconds elapsed, std::string& application_name) {
  application_name = client.application_name();
  QueryEvent event;
  event.sql = sql;
  event.statement_name = statement;
  event.database = client.database();
  event.user = client.user();
  event.application_name = application_name;
  event.client = client.peer();
  event.duration = elapsed;
  return event;
}

void Proxy::query_retried(ClientConnection& client, const std::string& sql, const std::string& statement,
                          const session::RequestError& error, std::chrono::microseconds elapsed, int attempt,
                          Duration delay) {
  std::string application_name;
  QueryEvent event = query_event(client, sql, statement, elapsed, application_name);
  event.error = &error;
  event.attempt = attempt;
  query_log_.retry(event, fingerprint_of(sql).text, delay);
}

void Proxy::reload(std::shared_ptr<const config::Config> config) {
  config_ = std::move(config);
  for (const auto& problem : tls_.reload(*config_)) log_.error("reload: {}", problem);
  query_log_.configure(config_->logging);
  query_stats_.set_capacity(config_->query_stats.max_fingerprints);
  verifiers_.clear();
  TimePoint t = now();
  for (auto& [key, pool] : pools_) {
    auto db = config_->find_database(pool->database);
    if (!db) continue;  // removed: connected clients keep their pool, new ones get 3D000
    LentActions lent(*this);
    std::vector<pool::PoolAction>& actions = lent.actions;
    bool backend_changed = !same_backend(pool->db, *db);
    pool->db = *db;
    capacities_[pool->database].max_connections = db->pool.max_db_connections;
    pool->servers.set_limits(pool_limits(db->pool), t, actions);
    if (backend_changed) {
      log_.info("pool {}/{}: backend changed; servers are replaced as they become idle", pool->database, pool->user);
      pool->servers.retire_all(t, actions);
    }
    run(*pool, actions);
  }
  log_.info("configuration reloaded");
}

}  // namespace ouroboros::proxy
