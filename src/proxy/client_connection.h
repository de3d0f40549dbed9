#pragma once
// One client: startup packet, authentication, waiting for a server, then relaying its messages
// to the linked server. Every failure ends in an ErrorResponse with a SQLSTATE before the close.
#include <memory>
#include <optional>
#include <string>

#include "auth/client_authenticator.h"
#include "io/timer.h"
#include "io/transport.h"
#include "pool/cancel_registry.h"
#include "pool/server_pool.h"
#include "pool/startup_parameters.h"
#include "protocol/frame_reader.h"
#include "protocol/message_stream.h"
#include "protocol/messages.h"

namespace ouroboros::proxy {

class Proxy;
class ServerConnection;

class ClientConnection final : public io::TransportHandler {
 public:
  enum class State { Startup, Authenticating, WaitingForServer, Linked, Closed };

  ClientConnection(Proxy& proxy, pool::ClientId id, std::unique_ptr<io::Transport> transport,
                   bool over_limit);
  ~ClientConnection() override;

  void start();
  pool::ClientId id() const { return id_; }
  State state() const { return state_; }
  const std::string& user() const { return user_; }
  const std::string& database() const { return database_; }
  const pool::StartupParameters& parameters() const { return parameters_; }
  const std::optional<protocol::ScramClientKeys>& scram_keys() const;
  ServerConnection* server() { return server_; }
  io::Transport* transport() { return transport_.get(); }
  const std::string& peer() const { return peer_; }

  // Pool decisions.
  void wait_for_server();
  void link(ServerConnection* server);
  // Sends a FATAL error and closes.
  void fail(const protocol::ErrorSpec& error);
  // The linked server died or was closed under the client.
  void server_lost(std::string_view reason);
  // Relay: bytes from the server (already complete or partial messages).
  void send_from_server(Bytes bytes);
  void resume_reading();

  // TransportHandler
  void on_readable(io::InputBuffer& input) override;
  void on_drained() override;
  void on_transport_closed(std::string_view reason) override;

 private:
  void handle_startup(io::InputBuffer& input);
  void handle_auth(io::InputBuffer& input);
  void relay(io::InputBuffer& input);
  void on_startup_packet(const protocol::StartupPacket& packet);
  void authenticated();
  void close();

  Proxy& proxy_;
  pool::ClientId id_;
  std::unique_ptr<io::Transport> transport_;
  bool over_limit_;
  std::string peer_;
  State state_ = State::Startup;
  io::Timer login_timer_;
  protocol::FrameReader reader_;
  protocol::MessageStream stream_;
  std::string user_;
  std::string database_;
  pool::StartupParameters parameters_;
  std::optional<auth::ClientAuthenticator> authenticator_;
  ServerConnection* server_ = nullptr;
  std::optional<pool::CancelKey> cancel_key_;
  bool extended_pending_ = false;
};

}  // namespace ouroboros::proxy
