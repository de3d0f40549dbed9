#pragma once
// One connection to PostgreSQL: connect, log in, then either sit idle in its pool or relay for
// the client it is linked to. It tracks what the proxy must know to reuse it safely: the
// transaction status from ReadyForQuery and how many replies are still outstanding.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "auth/backend_authenticator.h"
#include "io/tcp_connector.h"
#include "io/timer.h"
#include "io/transport.h"
#include "pool/server_pool.h"
#include "pool/startup_parameters.h"
#include "protocol/message_stream.h"
#include "protocol/messages.h"

namespace ouroboros::proxy {

class Proxy;
class ClientConnection;
struct PoolEntry;

// An error to hand to clients, owning its text.
struct OwnedError {
  std::string severity = "FATAL";
  std::string sqlstate;
  std::string message;
  std::string detail;
  protocol::ErrorSpec spec() const { return {severity, sqlstate, message, detail, {}}; }
};

class ServerConnection final : public io::TransportHandler {
 public:
  enum class State { Connecting, LoggingIn, Idle, Syncing, Linked, Resetting, Closed };

  ServerConnection(Proxy& proxy, PoolEntry& pool, pool::ServerId id,
                   pool::StartupParameters parameters);
  ~ServerConnection() override;

  void start(auth::BackendCredentials credentials);
  pool::ServerId id() const { return id_; }
  PoolEntry& pool_entry() { return pool_; }
  State state() const { return state_; }
  const pool::StartupParameters& startup_parameters() const { return startup_parameters_; }
  const std::map<std::string, std::string>& parameter_status() const { return parameter_status_; }
  protocol::BackendKeyData backend_key() const { return backend_key_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }

  // Runs `sql` (SET statements) hiding the replies, then calls Proxy::server_synced.
  void sync_parameters(const std::string& sql);
  void link(ClientConnection* client);
  // The linked client is gone: clean up (ROLLBACK, DISCARD ALL) and go back to the pool, or
  // close if the session cannot be cleaned.
  void unlink_and_reset();
  // Relay: bytes from the client. Counts the replies to expect so reuse is safe.
  void send_from_client(Bytes bytes, int replies_expected, bool extended_pending);
  io::Transport* transport() { return transport_.get(); }
  // Closes the connection (Terminate first when logged in) and tells the proxy.
  void close(std::string_view reason);

  // TransportHandler
  void on_readable(io::InputBuffer& input) override;
  void on_drained() override;
  void on_transport_closed(std::string_view reason) override;

 private:
  void on_connected(std::unique_ptr<io::TcpTransport> transport, std::string error);
  void login_failed(OwnedError error);
  void handle_login_message(const protocol::Frame& frame);
  bool handle_relay_message(const protocol::Frame& frame, Bytes& to_client);
  void finish_internal_query();

  Proxy& proxy_;
  PoolEntry& pool_;
  pool::ServerId id_;
  State state_ = State::Connecting;
  std::string host_;
  std::uint16_t port_ = 0;
  pool::StartupParameters startup_parameters_;
  std::unique_ptr<io::TcpConnector> connector_;
  std::unique_ptr<io::Transport> transport_;
  io::Timer connect_timer_;
  std::optional<auth::BackendAuthenticator> authenticator_;
  protocol::MessageStream stream_;
  std::map<std::string, std::string> parameter_status_;
  protocol::BackendKeyData backend_key_;
  ClientConnection* client_ = nullptr;
  char transaction_status_ = 'I';
  int replies_expected_ = 0;      // ReadyForQuery messages still to come
  bool extended_pending_ = false;  // extended-protocol messages sent without a Sync after them
  int internal_replies_ = 0;      // ReadyForQuery of proxy-issued queries still to come
  bool internal_failed_ = false;
};

}  // namespace ouroboros::proxy
