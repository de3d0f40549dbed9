#include "proxy/proxy.h"

#include "protocol/sqlstate.h"
#include "proxy/errors.h"
#include "proxy/cancel_forwarder.h"
#include "proxy/client_connection.h"

namespace ouroboros::proxy {

Proxy::Proxy(io::EventLoop& loop, std::shared_ptr<const config::Config> config, spdlog::logger& log)
    : loop_(loop),
      config_(std::move(config)),
      log_(log),
      random_(RandomSource::from_entropy()),
      listener_(loop, [this](std::unique_ptr<io::TcpTransport> t) { accept(std::move(t)); }),
      mock_secret_(protocol::random_nonce(32)) {}

Proxy::~Proxy() {
  // Connections reference the proxy; drop them before its members go.
  clients_.clear();
  servers_.clear();
  dying_servers_.clear();
}

std::string Proxy::start() {
  std::string error = listener_.listen(config_->listen.host, config_->listen.port);
  if (!error.empty()) return error;
  log_.info("listening on {}:{}", config_->listen.host, listener_.bound_port());
  return "";
}

void Proxy::accept(std::unique_ptr<io::TcpTransport> transport) {
  if (shutting_down_) return;  // the transport closes as it goes out of scope
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

PoolEntry& Proxy::pool_for(const std::string& database, const std::string& user,
                           const config::DatabaseConfig& db) {
  auto key = std::make_pair(database, user);
  auto it = pools_.find(key);
  if (it != pools_.end()) return *it->second;
  auto entry = std::unique_ptr<PoolEntry>(new PoolEntry{
      database, user, db, pool::ServerPool(pool::PoolLimits{db.pool.size}, next_server_id_), {}, {}});
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
  }
  return auth::BackendCredentials::from_secret(pool.user, secret, pool.scram_keys);
}

void Proxy::client_authenticated(ClientConnection& client) {
  auto db = config_->find_database(client.database());
  if (!db) {
    client.fail(fatal(sqlstate::kInvalidCatalogName,
                 "database \"" + client.database() + "\" does not exist",
                 "no such database is configured in the proxy"));
    return;
  }
  PoolEntry& pool = pool_for(client.database(), client.user(), *db);
  if (client.scram_keys()) pool.scram_keys = client.scram_keys();
  client.wait_for_server();
  std::vector<pool::PoolAction> actions;
  pool.servers.request(client.id(), pool::parameters_key(client.parameters()), actions);
  run(pool, actions);
}

void Proxy::run(PoolEntry& pool, std::vector<pool::PoolAction>& actions) {
  // Actions may produce more actions (a failed link frees a server): drain until empty.
  while (!actions.empty()) {
    std::vector<pool::PoolAction> batch;
    batch.swap(actions);
    for (auto& action : batch) {
      switch (action.kind) {
        case pool::PoolAction::Kind::Connect: {
          // The server starts with the parameters of the client it is opened for.
          pool::StartupParameters params;
          for (auto& [id, c] : clients_) {
            if (c->state() == ClientConnection::State::WaitingForServer && c->database() == pool.database &&
                c->user() == pool.user && pool::parameters_key(c->parameters()) == action.params_key) {
              params = c->parameters();
              break;
            }
          }
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
            pool.servers.release(action.server, true, actions);
            break;
          }
          link(pool, *c->second, *s->second, action.params_match);
          break;
        }
        case pool::PoolAction::Kind::FailClient: {
          auto c = clients_.find(action.client);
          if (c == clients_.end()) break;
          OwnedError error = pool.last_connect_error.value_or(
              OwnedError{"FATAL", std::string(sqlstate::kConnectionFailure), "could not connect to server", {}});
          c->second->fail(error.spec());
          break;
        }
      }
    }
  }
}

void Proxy::link(PoolEntry& pool, ClientConnection& client, ServerConnection& server, bool params_match) {
  if (params_match) {
    client.link(&server);
    return;
  }
  auto sql = pool::sync_sql(server.startup_parameters(), client.parameters());
  if (!sql) {
    // SET cannot make this server equal to a fresh one: replace it.
    std::vector<pool::PoolAction> actions;
    pool.servers.release(server.id(), false, actions);
    server.close("replaced by a server with the client's startup parameters");
    pool.servers.request(client.id(), pool::parameters_key(client.parameters()), actions);
    run(pool, actions);
    return;
  }
  if (sql->empty()) {
    client.link(&server);
    return;
  }
  pending_links_[server.id()] = client.id();
  server.sync_parameters(*sql);
}

void Proxy::server_synced(ServerConnection& server, bool ok) {
  auto pending = pending_links_.find(server.id());
  if (pending == pending_links_.end()) return;
  pool::ClientId client_id = pending->second;
  pending_links_.erase(pending);
  auto c = clients_.find(client_id);
  PoolEntry& pool = server.pool_entry();
  std::vector<pool::PoolAction> actions;
  if (!ok) {
    log_.warn("server {}: could not apply client parameters; closing it", server.id());
    pool.servers.release(server.id(), false, actions);
    server.close("parameter sync failed");
    if (c != clients_.end() && c->second->state() == ClientConnection::State::WaitingForServer)
      pool.servers.request(client_id, pool::parameters_key(c->second->parameters()), actions);
    run(pool, actions);
    return;
  }
  if (c == clients_.end() || c->second->state() != ClientConnection::State::WaitingForServer) {
    pool.servers.release(server.id(), true, actions);
    run(pool, actions);
    return;
  }
  c->second->link(&server);
}

void Proxy::client_closed(ClientConnection& client) {
  pool::ClientId id = client.id();
  if (ServerConnection* server = client.server()) {
    server->unlink_and_reset();
  } else if (client.state() != ClientConnection::State::Linked) {
    for (auto& [key, pool] : pools_) {
      if (key.first == client.database() && key.second == client.user()) pool->servers.cancel_request(id);
    }
  }
  dying_clients_.push_back(id);
  schedule_reap();
}

pool::CancelKey Proxy::register_cancel_key(pool::ClientId client, std::int32_t pid) {
  pool::CancelKey key{pid, static_cast<std::int32_t>(random_.u32())};
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
  if (c == clients_.end() || !c->second->server()) return;
  ServerConnection* server = c->second->server();
  auto backend = server->backend_key();
  log_.info("forwarding cancel request for client {} to server {} (pid {})", *client_id, server->id(), backend.pid);
  forward_cancel(loop_, server->host(), server->port(), backend.pid, backend.key);
}

void Proxy::server_ready(ServerConnection& server) {
  PoolEntry& pool = server.pool_entry();
  pool.last_connect_error.reset();
  std::vector<pool::PoolAction> actions;
  pool.servers.server_ready(server.id(), actions);
  run(pool, actions);
}

void Proxy::server_login_failed(ServerConnection& server, OwnedError error) {
  PoolEntry& pool = server.pool_entry();
  log_.warn("server connection to {}:{} for pool {}/{} failed: {} {}", server.host(), server.port(),
            pool.database, pool.user, error.sqlstate, error.message);
  pool.last_connect_error = std::move(error);
  std::vector<pool::PoolAction> actions;
  pool.servers.connect_failed(server.id(), actions);
  destroy_server(server.id());
  run(pool, actions);
}

void Proxy::server_released(ServerConnection& server, bool reusable) {
  PoolEntry& pool = server.pool_entry();
  std::vector<pool::PoolAction> actions;
  if (shutting_down_) reusable = false;
  pool.servers.release(server.id(), reusable, actions);
  if (!reusable) {
    server.close("not reusable");
  }
  run(pool, actions);
  maybe_finish_shutdown();
}

void Proxy::server_closed(ServerConnection& server) {
  PoolEntry& pool = server.pool_entry();
  pending_links_.erase(server.id());
  std::vector<pool::PoolAction> actions;
  pool.servers.remove(server.id(), actions);
  destroy_server(server.id());
  run(pool, actions);
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
    for (auto id : dying_clients_) clients_.erase(id);
    dying_clients_.clear();
    maybe_finish_shutdown();
  });
}

void Proxy::shutdown(std::string_view reason) {
  if (shutting_down_) return;
  shutting_down_ = true;
  log_.info("shutting down: {}", reason);
  listener_.close();
  std::vector<ClientConnection*> clients;
  for (auto& [id, c] : clients_) clients.push_back(c.get());
  for (auto* c : clients)
    c->fail(fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
  std::vector<ServerConnection*> servers;
  for (auto& [id, s] : servers_) servers.push_back(s.get());
  for (auto* s : servers) s->close("proxy shutting down");
  maybe_finish_shutdown();
}

void Proxy::maybe_finish_shutdown() {
  if (shutting_down_ && clients_.empty() && servers_.empty() && dying_servers_.empty()) loop_.stop();
}

}  // namespace ouroboros::proxy
