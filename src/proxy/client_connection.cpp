#include "proxy/client_connection.h"

#include "protocol/sqlstate.h"
#include "proxy/errors.h"
#include "proxy/proxy.h"
#include "proxy/server_connection.h"

namespace ouroboros::proxy {

namespace {
using protocol::ErrorSpec;
namespace fe = protocol::frontend;

// Client messages read whole while relaying: Terminate (the proxy keeps the server).
const protocol::TypeSet kClientWholeTypes{fe::kTerminate};

bool is_extended(char type) {
  return type == fe::kParse || type == fe::kBind || type == fe::kDescribe || type == fe::kExecute ||
         type == fe::kClose || type == fe::kFlush;
}
}  // namespace

ClientConnection::ClientConnection(Proxy& proxy, pool::ClientId id,
                                   std::unique_ptr<io::Transport> transport, bool over_limit)
    : proxy_(proxy),
      id_(id),
      transport_(std::move(transport)),
      over_limit_(over_limit),
      peer_(transport_->peer_address()),
      login_timer_(proxy.loop()),
      reader_(proxy.config().limits.max_message_size),
      stream_(reader_, kClientWholeTypes, proxy.config().limits.max_message_size) {}

ClientConnection::~ClientConnection() = default;

const std::optional<protocol::ScramClientKeys>& ClientConnection::scram_keys() const {
  static const std::optional<protocol::ScramClientKeys> none;
  return authenticator_ ? authenticator_->scram_keys() : none;
}

void ClientConnection::start() {
  transport_->set_handler(this);
  transport_->set_high_water(proxy_.config().limits.buffer_high_water);
  // A client may buffer at most one maximal message plus a read chunk.
  transport_->set_input_limit(proxy_.config().limits.max_message_size + 65536);
  login_timer_.start(proxy_.config().timeouts.client_login_timeout, [this] {
    fail(fatal(sqlstate::kCannotConnectNow, "client login timeout: no complete login in time"));
  });
  transport_->start_reading();
}

void ClientConnection::on_readable(io::InputBuffer& input) {
  switch (state_) {
    case State::Startup:
      return handle_startup(input);
    case State::Authenticating:
      return handle_auth(input);
    case State::Linked:
      return relay(input);
    case State::WaitingForServer:
      // Keep what arrived early; it is relayed once a server is linked.
      transport_->stop_reading();
      return;
    case State::Closed:
      input.consume(input.size());
      return;
  }
}

void ClientConnection::handle_startup(io::InputBuffer& input) {
  while (state_ == State::Startup) {
    auto result = reader_.read_startup(input.view());
    if (result.status == protocol::FrameStatus::NeedMore) return;
    if (result.status == protocol::FrameStatus::Malformed) {
      input.consume(input.size());
      return fail(fatal(sqlstate::kProtocolViolation,
                   std::string("invalid startup packet: ") + std::string(result.error)));
    }
    auto packet = protocol::decode_startup(result.frame.body);
    input.consume(result.frame.size);
    if (!packet) {
      input.consume(input.size());
      return fail(fatal(sqlstate::kProtocolViolation,
                   "invalid startup packet: unsupported protocol version or missing user"));
    }
    on_startup_packet(*packet);
  }
  if (state_ == State::Authenticating && !input.empty()) handle_auth(input);
}

void ClientConnection::on_startup_packet(const protocol::StartupPacket& packet) {
  using protocol::StartupKind;
  switch (packet.kind) {
    case StartupKind::SslRequest:
    case StartupKind::GssEncRequest: {
      // Not offered (yet): the client continues in plain text or gives up, as it chooses.
      transport_->write(Bytes{'N'});
      return;
    }
    case StartupKind::CancelRequest:
      proxy_.handle_cancel({packet.cancel_pid, packet.cancel_key});
      close();
      return;
    case StartupKind::Startup:
      break;
  }
  user_ = std::string(packet.parameter("user").value_or(""));
  database_ = std::string(packet.parameter("database").value_or(user_));
  if (database_.empty()) database_ = user_;
  if (packet.parameter("replication") && *packet.parameter("replication") != "false" &&
      *packet.parameter("replication") != "0" && *packet.parameter("replication") != "off") {
    return fail(fatal(sqlstate::kFeatureNotSupported, "replication connections are not supported by the proxy"));
  }
  if (over_limit_) {
    return fail(fatal(sqlstate::kTooManyConnections, "sorry, too many clients already"));
  }
  parameters_ = pool::session_parameters(packet.parameters);

  const auto& auth = proxy_.config().auth;
  auto user_it = auth.users.find(user_);
  const config::UserConfig* user = user_it == auth.users.end() ? nullptr : &user_it->second;
  std::optional<protocol::ScramVerifier> verifier;
  if (user && auth.type != config::AuthType::Trust) verifier = proxy_.scram_verifier_for(user_);
  authenticator_.emplace(auth.type, user_, user, std::move(verifier), proxy_.mock_salt_for(user_));
  state_ = State::Authenticating;
  auto step = authenticator_->start();
  if (step.kind == auth::AuthStep::Kind::Success) return authenticated();
  transport_->write(std::move(step.out));
}

void ClientConnection::handle_auth(io::InputBuffer& input) {
  while (state_ == State::Authenticating) {
    auto result = reader_.read_typed(input.view());
    if (result.status == protocol::FrameStatus::NeedMore) return;
    if (result.status == protocol::FrameStatus::Malformed || result.frame.type != fe::kPassword) {
      input.consume(input.size());
      return fail(fatal(sqlstate::kProtocolViolation, "expected a password message during authentication"));
    }
    auto step = authenticator_->on_password_message(result.frame.body);
    input.consume(result.frame.size);
    switch (step.kind) {
      case auth::AuthStep::Kind::Send:
        transport_->write(std::move(step.out));
        break;
      case auth::AuthStep::Kind::Failure:
        proxy_.log().info("client {} ({}): authentication failed for user \"{}\": {}", id_, peer_, user_, step.reason);
        input.consume(input.size());
        return fail(fatal(sqlstate::kInvalidPassword,
                     "password authentication failed for user \"" + user_ + "\""));
      case auth::AuthStep::Kind::Success:
        if (!step.out.empty()) transport_->write(std::move(step.out));
        authenticated();
        break;
    }
  }
}

void ClientConnection::authenticated() {
  Bytes out;
  protocol::encode_authentication_ok(out);
  transport_->write(std::move(out));
  proxy_.client_authenticated(*this);
}

void ClientConnection::wait_for_server() {
  if (state_ == State::Closed) return;
  state_ = State::WaitingForServer;
}

void ClientConnection::link(ServerConnection* server) {
  if (state_ == State::Closed) return;
  login_timer_.stop();
  server_ = server;
  Bytes out;
  for (const auto& [name, value] : server->parameter_status())
    protocol::encode_parameter_status(out, name, value);
  // The real backend pid, so pg_backend_pid() and NOTIFY sender pids agree; the key is ours.
  if (!cancel_key_) cancel_key_ = proxy_.register_cancel_key(id_, server->backend_key().pid);
  protocol::encode_backend_key_data(out, cancel_key_->pid, cancel_key_->key);
  protocol::encode_ready_for_query(out, 'I');
  transport_->write(std::move(out));
  state_ = State::Linked;
  server->link(this);
  transport_->start_reading();
  // Anything the client sent before its server was ready is waiting in the input buffer.
  if (!transport_->input().empty()) relay(transport_->input());
}

void ClientConnection::relay(io::InputBuffer& input) {
  Bytes out;
  int replies = 0;
  while (state_ == State::Linked) {
    auto event = stream_.next(input.view());
    if (event.kind == protocol::StreamEventKind::NeedMore) break;
    if (event.kind == protocol::StreamEventKind::Malformed) {
      input.consume(input.size());
      return fail(fatal(sqlstate::kProtocolViolation, std::string("invalid message: ") + std::string(event.error)));
    }
    if (event.kind == protocol::StreamEventKind::WholeMessage) {
      // Terminate: the client is done; the server stays with the proxy.
      input.consume(event.consumed);
      if (!out.empty()) server_->send_from_client(std::move(out), replies, extended_pending_);
      close();
      return;
    }
    if (event.message_start) {
      char t = event.type;
      if (t == fe::kQuery || t == fe::kSync || t == fe::kFunctionCall) ++replies;
      if (t == fe::kSync) extended_pending_ = false;
      else if (is_extended(t)) extended_pending_ = true;
    }
    append(out, event.bytes);
    input.consume(event.consumed);
  }
  if (!out.empty() && server_) {
    server_->send_from_client(std::move(out), replies, extended_pending_);
    if (server_ && server_->transport()->above_high_water()) transport_->stop_reading();
  }
}

void ClientConnection::send_from_server(Bytes bytes) {
  if (state_ != State::Linked) return;
  transport_->write(std::move(bytes));
}

void ClientConnection::resume_reading() {
  if (state_ != State::Linked || transport_->reading()) return;
  transport_->start_reading();
}

void ClientConnection::on_drained() {
  if (server_ && server_->transport()) server_->transport()->start_reading();
}

void ClientConnection::fail(const ErrorSpec& error) {
  if (state_ == State::Closed) return;
  Bytes out;
  protocol::encode_error_response(out, error);
  transport_->write(std::move(out));
  transport_->close_after_flush();
  close();
}

void ClientConnection::server_lost(std::string_view reason) {
  server_ = nullptr;
  if (state_ != State::Linked) return;
  proxy_.log().warn("client {} ({}): server connection lost: {}", id_, peer_, reason);
  fail(fatal(sqlstate::kConnectionFailure, "server connection lost: " + std::string(reason)));
}

void ClientConnection::on_transport_closed(std::string_view reason) {
  proxy_.log().debug("client {} ({}): {}", id_, peer_, reason);
  close();
}

void ClientConnection::close() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  login_timer_.stop();
  transport_->close();  // paths that must deliver a last message flushed it already
  if (cancel_key_) proxy_.unregister_cancel_key(*cancel_key_);
  proxy_.client_closed(*this);
}

}  // namespace ouroboros::proxy
