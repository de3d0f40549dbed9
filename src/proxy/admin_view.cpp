#include "proxy/admin_view.h"

#include <map>

#include "proxy/client_connection.h"
#include "proxy/proxy.h"

namespace ouroboros::proxy {

namespace {
using std::chrono::duration_cast;
using std::chrono::microseconds;

const char* mode_name(config::PoolMode mode) {
  switch (mode) {
    case config::PoolMode::Session: return "session";
    case config::PoolMode::Transaction: return "transaction";
    case config::PoolMode::Statement: return "statement";
  }
  return "session";
}

std::pair<std::string, std::uint16_t> split_address(const std::string& peer) {
  auto colon = peer.rfind(':');
  if (colon == std::string::npos) return {peer, 0};
  return {peer.substr(0, colon), static_cast<std::uint16_t>(std::atoi(peer.c_str() + colon + 1))};
}

std::string duration_text(Duration d) { return std::to_string(d.count()) + "ms"; }
}  // namespace

std::vector<admin::PoolSnapshot> AdminView::pools() const {
  std::map<const PoolEntry*, std::array<std::size_t, 3>> clients;  // active, waiting, idle
  for (const auto& [id, c] : proxy_.clients_) {
    if (!c->pool_entry()) continue;
    auto& counts = clients[c->pool_entry()];
    if (c->state() == ClientConnection::State::Linked) ++counts[0];
    else if (c->state() == ClientConnection::State::WaitingForServer) ++counts[1];
    else if (c->state() == ClientConnection::State::Idle) ++counts[2];
  }
  auto now = proxy_.now();
  std::vector<admin::PoolSnapshot> out;
  for (const auto& [key, pool] : proxy_.pools_) {
    admin::PoolSnapshot p;
    p.database = pool->database;
    p.user = pool->user;
    auto mode_it = proxy_.config_->auth.users.find(pool->user);
    p.mode = mode_name(mode_it != proxy_.config_->auth.users.end() && mode_it->second.pool_mode
                           ? *mode_it->second.pool_mode
                           : pool->db.pool.mode);
    p.pool_size = pool->db.pool.size;
    p.min_pool_size = pool->db.pool.min_size;
    p.reserve_pool_size = pool->db.pool.reserve_size;
    auto counts = clients[pool.get()];
    p.clients_active = counts[0];
    p.clients_waiting = counts[1];
    p.clients_idle = counts[2];
    p.servers_active = pool->servers.active_count();
    p.servers_idle = pool->servers.idle_count();
    p.servers_login = pool->servers.connecting_count();
    p.max_wait = duration_cast<microseconds>(pool->servers.longest_wait(now));
    p.paused = pool->paused;
    p.reachable = pool->servers.reachable();
    p.backoff_delay = pool->servers.consecutive_failures() ? duration_cast<microseconds>(pool->servers.current_backoff())
                                                           : microseconds(0);
    const PoolCounters& c = pool->counters;
    p.transactions = c.transactions.value();
    p.queries = c.queries.value();
    p.bytes_received = c.bytes_received.value();
    p.bytes_sent = c.bytes_sent.value();
    p.transaction_time = microseconds(c.transaction_time_us.value());
    p.query_time = microseconds(c.query_time_us.value());
    p.wait_time = microseconds(c.wait_time_us.value());
    p.server_connect_attempts = c.server_connect_attempts.value();
    p.server_connect_failures = c.server_connect_failures.value();
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<admin::DatabaseSnapshot> AdminView::databases() const {
  std::vector<admin::DatabaseSnapshot> out;
  for (const auto& [name, db] : proxy_.config_->databases) {
    admin::DatabaseSnapshot d;
    d.name = name;
    d.host = db.host;
    d.port = db.port;
    d.dbname = db.dbname.empty() ? name : db.dbname;
    d.user = db.user.value_or("");
    d.mode = mode_name(db.pool.mode);
    d.pool_size = db.pool.size;
    d.min_pool_size = db.pool.min_size;
    d.reserve_pool_size = db.pool.reserve_size;
    d.max_connections = db.pool.max_db_connections;
    auto cap = proxy_.capacities_.find(name);
    d.current_connections = cap == proxy_.capacities_.end() ? 0 : cap->second.open;
    d.paused = proxy_.paused_databases_.count("") || proxy_.paused_databases_.count(name);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<admin::ConnectionSnapshot> AdminView::clients() const {
  std::vector<admin::ConnectionSnapshot> out;
  auto now = proxy_.now();
  for (const auto& [id, c] : proxy_.clients_) {
    admin::ConnectionSnapshot s;
    s.user = c->user();
    s.database = c->database();
    switch (c->state()) {
      case ClientConnection::State::Linked: s.state = "active"; break;
      case ClientConnection::State::WaitingForServer:
        s.state = c->logged_in() ? "waiting" : "login";
        s.wait = duration_cast<microseconds>(now - c->wait_started());
        break;
      case ClientConnection::State::Idle: s.state = "idle"; break;
      case ClientConnection::State::Admin: s.state = "active"; break;
      case ClientConnection::State::Closed: s.state = "closing"; break;
      default: s.state = "login"; break;
    }
    std::tie(s.address, s.port) = split_address(c->peer());
    s.connect_time = c->connected_at();
    s.request_time = c->request_at();
    s.id = c->id();
    s.link = c->server() ? c->server()->id() : 0;
    s.application_name = c->application_name();
    s.pinned = session::pin_reason_text(c->pinned());
    if (auto tls = c->transport()->tls_info()) {
      s.tls_version = std::move(tls->version);
      s.tls_cipher = std::move(tls->cipher);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<admin::ConnectionSnapshot> AdminView::servers() const {
  std::vector<admin::ConnectionSnapshot> out;
  for (const auto& [id, server] : proxy_.servers_) {
    admin::ConnectionSnapshot s;
    s.user = server->pool_entry().user;
    s.database = server->pool_entry().database;
    switch (server->state()) {
      case ServerConnection::State::Linked: s.state = "active"; break;
      case ServerConnection::State::Idle: s.state = "idle"; break;
      case ServerConnection::State::Syncing:
      case ServerConnection::State::Resetting: s.state = "used"; break;
      default: s.state = "login"; break;
    }
    s.address = server->host();
    s.port = server->port();
    s.connect_time = server->connected_at();
    s.id = server->id();
    s.link = server->client() ? server->client()->id() : 0;
    s.backend_pid = server->backend_key().pid;
    if (server->client()) s.pinned = session::pin_reason_text(server->client()->pinned());
    auto app = server->parameter_status().find("application_name");
    if (app != server->parameter_status().end()) s.application_name = app->second;
    if (auto tls = server->tls_info()) {
      s.tls_version = std::move(tls->version);
      s.tls_cipher = std::move(tls->cipher);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> AdminView::config() const {
  const config::Config& c = *proxy_.config_;
  const config::PoolSettings& p = c.pool;
  auto yes = [](bool b) { return std::string(b ? "true" : "false"); };
  // Secrets (passwords) are never shown.
  return {
      {"listen.host", c.listen.host},
      {"listen.port", std::to_string(proxy_.port())},
      {"auth.type", c.auth.type == config::AuthType::Trust ? "trust"
                    : c.auth.type == config::AuthType::Md5 ? "md5"
                                                           : "scram-sha-256"},
      {"pool.mode", mode_name(p.mode)},
      {"pool.size", std::to_string(p.size)},
      {"pool.min_size", std::to_string(p.min_size)},
      {"pool.reserve_size", std::to_string(p.reserve_size)},
      {"pool.reserve_timeout", duration_text(p.reserve_timeout)},
      {"pool.max_db_connections", std::to_string(p.max_db_connections)},
      {"pool.max_client_connections", std::to_string(p.max_client_connections)},
      {"pool.server_idle_timeout", duration_text(p.server_idle_timeout)},
      {"pool.server_lifetime", duration_text(p.server_lifetime)},
      {"pool.server_check_delay", duration_text(p.server_check_delay)},
      {"pool.query_wait_timeout", duration_text(p.query_wait_timeout)},
      {"pool.query_timeout", duration_text(p.query_timeout)},
      {"pool.idle_transaction_timeout", duration_text(p.idle_transaction_timeout)},
      {"pool.client_idle_timeout", duration_text(p.client_idle_timeout)},
      {"pool.fail_fast", yes(p.fail_fast)},
      {"pool.max_prepared_statements", std::to_string(p.max_prepared_statements)},
      {"pool.session_state",
       p.session_state == config::SessionStatePolicy::Refuse ? "refuse" : "pin"},
      {"pool.backoff.initial", duration_text(p.backoff.initial)},
      {"pool.backoff.max", duration_text(p.backoff.max)},
      {"limits.max_client_connections", std::to_string(c.limits.max_client_connections)},
      {"limits.max_message_size", std::to_string(c.limits.max_message_size)},
      {"timeouts.client_login_timeout", duration_text(c.timeouts.client_login_timeout)},
      {"timeouts.server_connect_timeout", duration_text(c.timeouts.server_connect_timeout)},
      {"timeouts.shutdown_timeout", duration_text(c.timeouts.shutdown_timeout)},
      {"logging.level", c.logging.level},
      {"logging.format", c.logging.format == config::LogFormat::Json ? "json" : "text"},
      {"logging.log_literals", yes(c.logging.log_literals)},
      {"logging.slow_query_threshold", duration_text(c.logging.slow_query_threshold)},
      {"retry.enabled", yes(c.retry.enabled)},
      {"retry.max_attempts", std::to_string(c.retry.max_attempts)},
      {"metrics.host", c.metrics.host},
      {"metrics.port", std::to_string(c.metrics.port)},
  };
}

std::vector<admin::QueryStatsSnapshot> AdminView::query_stats() const {
  std::vector<admin::QueryStatsSnapshot> out;
  for (const auto& q : proxy_.query_stats_.top(100)) out.push_back({q.fingerprint, q.calls, q.errors, q.rows, q.total, q.max});
  return out;
}

std::string AdminView::version() const { return "Ouroboros " OUROBOROS_VERSION_STRING; }

std::string AdminView::pause(const std::string& database) { return proxy_.pause(database, true); }
std::string AdminView::resume(const std::string& database) { return proxy_.pause(database, false); }
std::string AdminView::reconnect(const std::string& database) { return proxy_.reconnect(database); }
std::string AdminView::kill(const std::string& database) { return proxy_.kill(database); }
std::string AdminView::reload() { return reload_ ? reload_() : "reload is not available"; }
std::string AdminView::shutdown() {
  // After this turn of the loop, so the admin first receives its answer.
  Proxy* proxy = &proxy_;
  proxy_.loop().defer([proxy] { proxy->shutdown("SHUTDOWN from the admin console", true); });
  return "";
}

}  // namespace ouroboros::proxy
