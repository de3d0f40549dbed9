#pragma once
// The proxy on one event loop: accepts clients, owns every client and server connection on that
// loop, its pools and its cancel keys. Several Proxies (one per loop) share nothing mutable.
#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "config/config.h"
#include "io/event_loop.h"
#include "io/tcp_listener.h"
#include "pool/cancel_registry.h"
#include "pool/server_pool.h"
#include "protocol/auth.h"
#include "proxy/server_connection.h"

namespace ouroboros::proxy {

class ClientConnection;

// One pool: a client-facing database name and a client user.
struct PoolEntry {
  std::string database;  // client-facing name
  std::string user;      // client user
  config::DatabaseConfig db;
  pool::ServerPool servers;
  std::optional<OwnedError> last_connect_error;
  std::optional<protocol::ScramClientKeys> scram_keys;  // from the latest SCRAM client login
};

class Proxy {
 public:
  Proxy(io::EventLoop& loop, std::shared_ptr<const config::Config> config, spdlog::logger& log);
  ~Proxy();

  // Binds the listener; returns "" or the error.
  std::string start();
  std::uint16_t port() const { return listener_.bound_port(); }
  // Closes everything; `done` runs once all connections are gone.
  void shutdown(std::string_view reason);

  io::EventLoop& loop() { return loop_; }
  const config::Config& config() const { return *config_; }
  spdlog::logger& log() { return log_; }
  RandomSource& random() { return random_; }

  // --- called by connections ---
  // The verifier clients of `user` are checked against (derived once from a plain password).
  std::optional<protocol::ScramVerifier> scram_verifier_for(const std::string& user);
  std::string mock_salt_for(const std::string& user) const;
  void client_authenticated(ClientConnection& client);
  void client_closed(ClientConnection& client);
  void handle_cancel(pool::CancelKey key);
  pool::CancelKey register_cancel_key(pool::ClientId client, std::int32_t pid);
  void unregister_cancel_key(pool::CancelKey key) { cancels_.remove(key); }

  void server_ready(ServerConnection& server);
  void server_login_failed(ServerConnection& server, OwnedError error);
  void server_synced(ServerConnection& server, bool ok);
  void server_released(ServerConnection& server, bool reusable);
  void server_closed(ServerConnection& server);

  std::size_t client_count() const { return clients_.size(); }

 private:
  void accept(std::unique_ptr<io::TcpTransport> transport);
  PoolEntry& pool_for(const std::string& database, const std::string& user, const config::DatabaseConfig& db);
  void run(PoolEntry& pool, std::vector<pool::PoolAction>& actions);
  void link(PoolEntry& pool, ClientConnection& client, ServerConnection& server, bool params_match);
  void destroy_server(pool::ServerId id);
  auth::BackendCredentials backend_credentials(const PoolEntry& pool) const;
  void maybe_finish_shutdown();
  void schedule_reap();

  io::EventLoop& loop_;
  std::shared_ptr<const config::Config> config_;
  spdlog::logger& log_;
  RandomSource random_;
  io::TcpListener listener_;
  std::string mock_secret_;
  pool::ClientId next_client_id_ = 0;
  pool::ServerId next_server_id_ = 0;
  std::unordered_map<pool::ClientId, std::unique_ptr<ClientConnection>> clients_;
  std::unordered_map<pool::ServerId, std::unique_ptr<ServerConnection>> servers_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<PoolEntry>> pools_;
  std::map<std::string, protocol::ScramVerifier> verifiers_;
  pool::CancelRegistry cancels_;
  std::unordered_map<pool::ServerId, pool::ClientId> pending_links_;  // servers syncing parameters
  bool shutting_down_ = false;
  // Closed connections wait here for the next loop turn: their callbacks may be on the stack.
  std::vector<std::unique_ptr<ServerConnection>> dying_servers_;
  std::vector<pool::ClientId> dying_clients_;
  bool reap_scheduled_ = false;
};

}  // namespace ouroboros::proxy
