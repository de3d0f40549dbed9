#pragma once
// Transaction/statement mode: the pool's listening server connection. Clients' LISTENs run on
// whatever server they hold (so PostgreSQL answers them), and are mirrored here: this one
// connection LISTENs to the union of the channels its pool's clients listen to, and hands each
// NotificationResponse (PostgreSQL's bytes, with the notifying backend's pid) to every client
// listening to that channel, whether or not the client holds a server at the moment.
//
// The connection is a server connection of the pool (same credentials and TLS) that the pool
// does not count or lend to clients. It is opened at the first LISTEN, kept while the pool
// lives, and opened again with the pool's backoff when it is lost (its channels registered
// again; notifications sent while it was down are lost, as with a reconnect to PostgreSQL).
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "io/timer.h"
#include "pool/backoff.h"
#include "pool/server_pool.h"
#include "session/listen_registry.h"

namespace ouroboros::proxy {

class Proxy;
class ServerConnection;
struct PoolEntry;
struct OwnedError;

class PoolListener {
 public:
  PoolListener(Proxy& proxy, PoolEntry& pool);
  ~PoolListener();
  PoolListener(const PoolListener&) = delete;
  PoolListener& operator=(const PoolListener&) = delete;

  // A client sent a LISTEN that has not committed yet: the channel is registered now, so the
  // connection hears it by the time the client's LISTEN commits.
  void listen_ahead(pool::ClientId client, const std::string& channel);
  // The client's transaction ended: it listens to exactly `committed`.
  void settle(pool::ClientId client, const std::set<std::string>& committed);
  void client_gone(pool::ClientId client);
  // The connection has confirmed a LISTEN of `channel` (or is down: a client waits for no
  // reconnect, and its channels are registered again when the connection is back).
  bool hears(const std::string& channel) const { return down_ || confirmed_.count(channel) > 0; }
  // The client holds a LISTEN until hears(): ClientConnection::listener_ready() when it may go.
  void wait(pool::ClientId client) { waiting_.insert(client); }

  // From the proxy, about the listening connection (ServerConnection::listener() is this).
  void server_ready();
  void server_login_failed(const OwnedError& error);
  void server_closed();
  // From the listening connection: a message it received while idle (a NotificationResponse,
  // or the replies to its LISTEN/UNLISTEN queries), whole.
  void server_message(char type, ByteView message);

  // The listening connection's backend pid, when it is logged in.
  std::optional<std::int32_t> backend_pid() const;
  const std::set<std::string>& registered() const { return on_server_; }

 private:
  // Brings the connection's channels in line with the registry; connects first when needed.
  void sync();
  void connect();
  // The connection is gone: destroyed on the next loop turn, another one after the backoff.
  void lost();
  void notification(ByteView message);
  // Clients waiting in hears() try again.
  void wake();

  Proxy& proxy_;
  PoolEntry& pool_;
  session::ListenRegistry registry_;
  std::unique_ptr<ServerConnection> server_;
  bool ready_ = false;
  std::set<std::string> on_server_;              // channels the connection was told to LISTEN to
  std::set<std::string> confirmed_;              // ... and has answered for
  std::deque<std::set<std::string>> in_flight_;  // on_server_ after each query not yet answered
  std::set<pool::ClientId> waiting_;
  bool down_ = false;  // lost or failed to connect, not back yet
  pool::Backoff backoff_;
  io::Timer retry_timer_;
  bool retry_scheduled_ = false;
};

}  // namespace ouroboros::proxy
