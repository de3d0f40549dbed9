// ClientConnection's part of LISTEN in transaction/statement mode: the pool's listening
// connection (PoolListener) holds the channels; the client's LISTENs run on its own server as
// sent (PostgreSQL answers them), and that server is cleaned with UNLISTEN * before it is lent
// again (Proxy::release_server, ServerConnection::unlink_and_reset).
#include "proxy/client_connection.h"
#include "proxy/pool_listener.h"
#include "proxy/proxy.h"

namespace ouroboros::proxy {

bool ClientConnection::listen_registered_first(const ClientMessage& message) {
  if (!pool_ || !message.may_change) return true;
  const std::optional<std::string_view>& sql = message.text;
  if (!sql) return true;
  bool ready = true;
  bool listens = false;
  // The classifier caches by text: the session state's own look at it costs a lookup.
  for (const sql::ClassifiedStatement& statement :
       proxy_.session_classifier().classify(*sql).statements) {
    for (const sql::SessionEffect& effect : statement.effects) {
      if (effect.kind != sql::SessionEffectKind::Listen) continue;
      listens = true;
      if (!pool_->listener) pool_->listener = std::make_unique<PoolListener>(proxy_, *pool_);
      pool_->listener->listen_ahead(id_, effect.name);
      if (!pool_->listener->hears(effect.name)) ready = false;
    }
  }
  if (!ready) {
    pool_->listener->wait(id_);
    return false;
  }
  if (listens) listened_on_server_ = true;  // the server needs UNLISTEN * before its next client
  return true;
}

void ClientConnection::listener_ready() {
  if (session_.linked()) read_buffered_input();
}

void ClientConnection::settle_listen() {
  listened_on_server_ = false;  // settle_session_changes passed it on, or the server was lost
  if (!pool_ || !pool_->listener || mode_ == config::PoolMode::Session) return;
  static const std::set<std::string> kNone;
  const std::set<std::string>& committed =
      session_state_ ? session_state_->tracker().listen_channels() : kNone;
  pool_->listener->settle(id_, committed);
  if (queued_notifications_.empty()) return;
  // A channel UNLISTENed in the transaction that just ended hears nothing more, as in PostgreSQL.
  Bytes out;
  for (const QueuedNotification& queued : queued_notifications_)
    if (committed.count(queued.channel)) append(out, queued.message);
  queued_notifications_.clear();
  if (out.empty()) return;
  pool_->counters.bytes_sent.inc(out.size());
  transport_->write(std::move(out));
}

void ClientConnection::stop_listening() {
  queued_notifications_.clear();
  if (pool_ && pool_->listener) pool_->listener->client_gone(id_);
}

void ClientConnection::deliver_notification(std::string_view channel, ByteView message) {
  // Idle: waiting for the client's next message with no server and nothing buffered, as a
  // PostgreSQL backend waiting for input. Anything else (a request queued for a server, or a
  // linked server) waits for the end of the transaction.
  if (state() == State::Idle && transport_->input().empty()) {
    if (pool_) pool_->counters.bytes_sent.inc(message.size());
    transport_->write(Bytes(message.begin(), message.end()));
    return;
  }
  if (state() == State::Idle || state() == State::WaitingForServer || session_.linked())
    queued_notifications_.push_back({std::string(channel), Bytes(message.begin(), message.end())});
}

}  // namespace ouroboros::proxy
