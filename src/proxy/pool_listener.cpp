#include "proxy/pool_listener.h"

#include "protocol/messages.h"
#include "proxy/client_connection.h"
#include "proxy/proxy.h"
#include "proxy/server_connection.h"

namespace ouroboros::proxy {

namespace {
// How the listening connection shows in pg_stat_activity.
constexpr const char* kApplicationName = "ouroboros listener";

// The channel of a NotificationResponse ('A', length, pid, channel, payload).
std::optional<std::string_view> notification_channel(ByteView message) {
  if (message.size() < 10) return std::nullopt;
  auto text =
      std::string_view(reinterpret_cast<const char*>(message.data()) + 9, message.size() - 9);
  auto end = text.find('\0');
  if (end == std::string_view::npos) return std::nullopt;
  return text.substr(0, end);
}
}  // namespace

PoolListener::PoolListener(Proxy& proxy, PoolEntry& pool)
    : proxy_(proxy),
      pool_(pool),
      backoff_(pool_limits(pool.db.pool).backoff),
      retry_timer_(proxy.loop()) {}

PoolListener::~PoolListener() = default;

void PoolListener::listen_ahead(pool::ClientId client, const std::string& channel) {
  registry_.listen_ahead(client, channel);
  sync();
}

void PoolListener::settle(pool::ClientId client, const std::set<std::string>& committed) {
  registry_.settle(client, committed);
  sync();
}

void PoolListener::client_gone(pool::ClientId client) {
  registry_.remove(client);
  sync();
}

std::optional<std::int32_t> PoolListener::backend_pid() const {
  if (!server_ || !ready_) return std::nullopt;
  return server_->backend_key().pid;
}

void PoolListener::sync() {
  if (!server_) {
    if (!registry_.empty() && !retry_scheduled_) connect();
    return;
  }
  if (!ready_) return;  // server_ready() syncs
  std::set<std::string> want = registry_.channels();
  std::string sql = session::listen_sync_sql(on_server_, want);
  if (sql.empty()) return;
  // The replies of an idle server are read and dropped; nothing waits for them.
  proxy_.log().debug("pool {}/{}: listening connection: {}", pool_.database, pool_.user, sql);
  Bytes out;
  protocol::encode_query(out, sql);
  server_->transport()->write(std::move(out));
  in_flight_.push_back(want);
  on_server_ = std::move(want);
}

void PoolListener::connect() {
  pool::ServerId id = ++proxy_.next_server_id_;
  server_ = std::make_unique<ServerConnection>(
      proxy_, pool_, id, pool::StartupParameters{{"application_name", kApplicationName}});
  server_->set_listener(this);
  ready_ = false;
  server_->start(proxy_.backend_credentials(pool_));
}

void PoolListener::server_ready() {
  ready_ = true;
  down_ = false;
  backoff_.reset();
  on_server_.clear();
  proxy_.log().info(
      "pool {}/{}: listening connection ready (server {}, backend pid {}), {} channel(s)",
      pool_.database, pool_.user, server_->id(), server_->backend_key().pid,
      registry_.channels().size());
  sync();
}

void PoolListener::server_login_failed(const OwnedError& error) {
  proxy_.log().warn("pool {}/{}: listening connection failed: {} {}", pool_.database, pool_.user,
                    error.sqlstate, error.message);
  lost();
}

void PoolListener::server_closed() {
  proxy_.log().warn(
      "pool {}/{}: listening connection lost; notifications sent until it is back are lost",
      pool_.database, pool_.user);
  lost();
}

void PoolListener::lost() {
  // Its callbacks are on the stack: destroyed on the next loop turn.
  std::shared_ptr<ServerConnection> old(std::move(server_));
  proxy_.loop().defer([old] {});
  ready_ = false;
  on_server_.clear();
  confirmed_.clear();
  in_flight_.clear();
  down_ = true;
  wake();
  if (registry_.empty() || proxy_.shutting_down()) return;
  Duration delay = backoff_.next_delay(proxy_.random());
  retry_scheduled_ = true;
  retry_timer_.start(delay, [this] {
    retry_scheduled_ = false;
    if (!server_ && !registry_.empty()) connect();
  });
}

void PoolListener::server_message(char type, ByteView message) {
  namespace be = protocol::backend;
  if (type == be::kNotification) return notification(message);
  if (type == be::kErrorResponse) {
    auto fields =
        message.size() > 5 ? protocol::decode_error_fields(message.subspan(5)) : std::nullopt;
    proxy_.log().warn("pool {}/{}: listening connection: {} {}", pool_.database, pool_.user,
                      fields ? fields->sqlstate() : "", fields ? fields->message() : "");
    return;
  }
  if (type != be::kReadyForQuery || in_flight_.empty()) return;
  // Answered (a failure was logged above: the client's own LISTEN meets the same fate).
  confirmed_ = std::move(in_flight_.front());
  in_flight_.pop_front();
  wake();
}

void PoolListener::wake() {
  std::set<pool::ClientId> waiting;
  waiting.swap(waiting_);
  for (pool::ClientId id : waiting) {
    auto it = proxy_.clients_.find(id);
    if (it != proxy_.clients_.end()) it->second->listener_ready();
  }
}

void PoolListener::notification(ByteView message) {
  auto channel = notification_channel(message);
  if (!channel) return;
  for (pool::ClientId id : registry_.subscribers(*channel)) {
    auto it = proxy_.clients_.find(id);
    if (it != proxy_.clients_.end()) it->second->deliver_notification(*channel, message);
  }
}

}  // namespace ouroboros::proxy
