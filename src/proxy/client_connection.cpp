#include "proxy/client_connection.h"

#include <cassert>

#include <algorithm>
#include <functional>
#include <set>

#include "auth/hba_decision.h"
#include "common/hot_log.h"
#include "io/tls_transport.h"
#include "protocol/sqlstate.h"
#include "sql/command.h"
#include "sql/query_shape.h"
#include "sql/statement_splitter.h"
#include "pool/backoff.h"
#include "proxy/errors.h"
#include "proxy/proxy.h"
#include "proxy/server_connection.h"

namespace ouroboros::proxy {

namespace {
using protocol::ErrorSpec;
namespace fe = protocol::frontend;

// Client messages read whole while relaying: all but COPY data, which streams through.
const protocol::TypeSet kClientWholeTypes{fe::kParse,   fe::kBind,     fe::kDescribe,     fe::kExecute,
                                          fe::kSync,    fe::kFlush,    fe::kClose,        fe::kQuery,
                                          fe::kFunctionCall, fe::kTerminate, fe::kCopyDone, fe::kCopyFail};

bool is_extended(char type) {
  return type == fe::kParse || type == fe::kBind || type == fe::kDescribe || type == fe::kExecute ||
         type == fe::kClose || type == fe::kFlush;
}

std::string ms(Duration d) { return std::to_string(d.count()) + "ms"; }

}  // namespace

ClientConnection::ClientConnection(Proxy& proxy, pool::ClientId id, std::unique_ptr<io::Transport> transport,
                                   bool over_limit)
    : proxy_(proxy),
      id_(id),
      transport_(std::move(transport)),
      over_limit_(over_limit),
      peer_(transport_->peer_address()),
      timer_(std::make_unique<io::Timer>(proxy.loop())),
      reader_(proxy.config().limits.max_message_size),
      stream_(reader_, kClientWholeTypes, proxy.config().limits.max_message_size),
      parameters_(proxy.startup_parameters_interner().intern({})) {
  set_desired_settings({});
}

ClientConnection::~ClientConnection() = default;

const std::optional<protocol::ScramClientKeys>& ClientConnection::scram_keys() const {
  static const std::optional<protocol::ScramClientKeys> none;
  return authenticator_ ? authenticator_->scram_keys() : none;
}

bool ClientConnection::busy() const {
  return session_.linked() && server_ &&
         (server_->request_in_flight() || server_->transaction_status() != 'I');
}

void ClientConnection::start() {
  transport_->set_handler(this);
  transport_->set_high_water(proxy_.config().limits.buffer_high_water);
  // A client may buffer at most one maximal message plus a read chunk.
  transport_->set_input_limit(proxy_.config().limits.max_message_size + 65536);
  auto timeout = proxy_.config().timeouts.client_login_timeout;
  timer_->start(timeout, [this, timeout] {
    proxy_.counters().reject(Rejection::LoginTimeout);
    fail(fatal(sqlstate::kCannotConnectNow, "client_login_timeout: login not completed within " + ms(timeout)));
  });
  transport_->start_reading();
}

void ClientConnection::on_readable(io::InputBuffer& input) {
  OURO_TRACE(proxy_.log(), "client {}: {} bytes readable, {}", id_, input.size(), session::to_string(state()));
  switch (state()) {
    case State::Startup:
      return handle_startup(input);
    case State::Authenticating:
      return handle_auth(input);
    case State::Linked:
      return relay(input);
    case State::Admin:
      return handle_admin(input);
    case State::Idle: {
      if (lost_ && !answer_after_loss(input)) return;
      if (input.empty() || state() != State::Idle) return;
      auto view = input.view();
      using AfterIdleInput = session::ClientSession::AfterIdleInput;
      if (session::ClientSession::idle_input(view[0] == fe::kTerminate && view.size() >= 5) == AfterIdleInput::Close) {
        input.consume(input.size());
        return close();
      }
      // A new transaction: wait for a server with the request kept in the input buffer. Reading
      // stops only when no server came at once (stopping and restarting costs two epoll_ctl).
      wait_for_server();
      proxy_.request_server(*this);
      if (state() == State::WaitingForServer) {
        transport_->stop_reading();
        input.compact();
      }
      return;
    }
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
  using Kind = session::StartupStep::Kind;
  using Refusal = session::StartupStep::Refusal;
  while (state() == State::Startup) {
    session::StartupFacts facts;
    facts.tls_active = transport_->tls_info().has_value();
    facts.tls_available = proxy_.tls().listener() != nullptr;
    facts.tls_required = proxy_.config().listen.tls.mode == config::ClientTlsMode::Require;
    facts.over_limit = over_limit_;
    session::StartupStep step = session::next_startup_step(input.view(), facts, reader_);
    input.consume(step.consumed);
    switch (step.kind) {
      case Kind::NeedMore:
        return;
      case Kind::Reply:
        transport_->write(std::move(step.reply));
        break;
      case Kind::StartTls:
        if (!step.reply.empty()) transport_->write(std::move(step.reply));
        return start_tls(step.direct_tls);
      case Kind::Cancel:
        proxy_.handle_cancel({step.cancel_pid, step.cancel_key});
        return close();
      case Kind::Refuse:
        switch (step.refusal) {
          case Refusal::Protocol: proxy_.counters().reject(Rejection::Protocol); break;
          case Refusal::TooManyClients: proxy_.counters().reject(Rejection::TooManyClients); break;
          case Refusal::TlsRequired:
            proxy_.counters().reject(Rejection::TlsRequired);
            proxy_.log().info("client {} ({}): refused: plain-text connection while listen.tls.mode is require", id_,
                              peer_);
            break;
          case Refusal::Replication:
          case Refusal::None:
            break;
        }
        return fail(fatal(step.sqlstate, step.message, step.detail));
      case Kind::Startup:
        on_startup_packet(*step.packet);
        break;
    }
  }
  if (state() == State::Authenticating && !input.empty()) handle_auth(input);
}

void ClientConnection::on_startup_packet(const protocol::StartupPacket& packet) {
  user_ = std::string(packet.parameter("user").value_or(""));
  database_ = std::string(packet.parameter("database").value_or(user_));
  if (database_.empty()) database_ = user_;
  parameters_ = proxy_.startup_parameters_interner().intern(pool::session_parameters(packet.parameters));
  set_desired_settings(pool::startup_settings(*parameters_));

  // The authenticator keeps this snapshot of the configuration alive: a reload may come before
  // the client answers.
  auto snapshot = proxy_.config_snapshot();
  const auto& auth = snapshot->auth;
  // Host-based rules (auth.hba_file): refused here, or the matching line's method decides.
  config::ConnectionFacts facts;
  facts.is_unix = transport_->is_unix_socket();
  facts.peer_ip = transport_->peer_ip();
  if (auto tls = transport_->tls_info()) {
    facts.is_tls = true;
    if (tls->peer_certificate && !tls->peer_common_name.empty()) facts.client_cert_cn = tls->peer_common_name;
  }
  auth::HbaDecision hba = auth::decide_hba(auth, facts, database_, user_);
  if (!hba.allowed) {
    proxy_.log().info("client {} ({}): refused by host-based rules for user \"{}\", database \"{}\": {}", id_,
                      peer_, user_, database_, hba.log_reason);
    proxy_.counters().reject(Rejection::Authentication);
    return fail(fatal(sqlstate::kInvalidAuthorization, hba.message));
  }
  if (auth.hba) proxy_.log().debug("client {} ({}): host-based rule {}", id_, peer_, hba.log_reason);
  auth_type_ = hba.type;
  auto user_it = auth.users.find(user_);
  std::shared_ptr<const config::UserConfig> user;
  if (user_it != auth.users.end())
    user = std::shared_ptr<const config::UserConfig>(snapshot, &user_it->second);
  session_.startup_accepted();
  if (!user && auth.query && auth_type_ != config::AuthType::Trust) {
    // auth_query: the client waits (client_login_timeout) until user_looked_up().
    proxy_.lookup_user(*this);
    return;
  }
  std::optional<protocol::ScramVerifier> verifier;
  if (user && auth_type_ != config::AuthType::Trust) verifier = proxy_.scram_verifier_for(user_);
  start_authentication(std::move(user), std::move(verifier), "no such user");
}

void ClientConnection::user_looked_up(const UserLookupResult& result) {
  if (!result.error.empty()) {
    proxy_.counters().reject(Rejection::Authentication);
    return fail(fatal(sqlstate::kConnectionFailure, "authentication lookup failed",
                      "the proxy could not look up the user's password (auth_query); see its log"));
  }
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auth::LookupStatus status = result.user.status_at(now);
  std::shared_ptr<const config::UserConfig> user;
  std::optional<protocol::ScramVerifier> verifier;
  if (status == auth::LookupStatus::Found) {
    looked_up_secret_ = std::make_unique<const std::string>(result.user.secret);
    user = std::make_shared<const config::UserConfig>(config::UserConfig{user_, result.user.secret, std::nullopt});
    verifier = proxy_.scram_verifier_from_secret(result.user.secret);
  }
  // Refusals run the same exchange as a wrong password; only the log tells them apart.
  start_authentication(std::move(user), std::move(verifier),
                       std::string(auth::describe(status)) + result.note);
}

void ClientConnection::start_authentication(std::shared_ptr<const config::UserConfig> user,
                                            std::optional<protocol::ScramVerifier> verifier,
                                            std::string unknown_reason) {
  Bytes channel_binding;  // over TLS: SCRAM-SHA-256-PLUS is offered
  if (auto tls = transport_->tls_info()) channel_binding = std::move(tls->server_end_point);
  authenticator_ = std::make_unique<auth::ClientAuthenticator>(auth_type_, user_, std::move(user), std::move(verifier),
                                                           proxy_.mock_salt_for(user_), std::move(channel_binding));
  authenticator_->set_unknown_user_reason(std::move(unknown_reason));
  auto step = authenticator_->start();
  if (step.kind == auth::AuthStep::Kind::Success) return authenticated();
  transport_->write(std::move(step.out));
}

void ClientConnection::start_tls(bool direct) {
  // session::next_startup_step offers TLS only with a listener context, on a plain connection.
  const io::TlsContext* context = proxy_.tls().listener();
  if (!context || transport_->tls_info()) return close();
  io::TlsOptions options;
  options.require_alpn = direct;
  options.on_handshake = [this](bool ok, std::string_view error) {
    proxy_.counters().tls_handshake(TlsSide::Client, ok);
    if (!ok) proxy_.log().info("client {} ({}): TLS handshake failed: {}", id_, peer_, error);
  };
  auto tls = std::make_unique<io::TlsTransport>(std::move(transport_), *context, std::move(options),
                                                &proxy_.loop().buffers());
  io::TlsTransport& ref = *tls;
  transport_ = std::move(tls);
  transport_->set_handler(this);
  transport_->set_high_water(proxy_.config().limits.buffer_high_water);
  transport_->set_input_limit(proxy_.config().limits.max_message_size + 65536);
  if (!ref.start().empty()) close();  // logged and counted by on_handshake
}

void ClientConnection::handle_auth(io::InputBuffer& input) {
  while (state() == State::Authenticating && authenticator_) {
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
        proxy_.counters().reject(Rejection::Authentication);
        proxy_.authentication_failed(database_, user_);
        input.consume(input.size());
        return fail(fatal(sqlstate::kInvalidPassword, "password authentication failed for user \"" + user_ + "\""));
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
  proxy_.client_authenticated(*this);  // takes the SCRAM keys for the pool's server logins
  authenticator_.reset();
}

void ClientConnection::start_admin(bool may_modify) {
  stop_timer();
  admin_ = std::make_unique<admin::AdminConsole>(proxy_.admin_view(), may_modify);
  Bytes out;
  // What psql needs to talk to a server.
  for (auto [name, value] : {std::pair{"server_version", "15.0 (Ouroboros admin console)"},
                             {"server_encoding", "UTF8"}, {"client_encoding", "UTF8"}, {"DateStyle", "ISO, MDY"},
                             {"integer_datetimes", "on"}, {"standard_conforming_strings", "on"},
                             {"TimeZone", "UTC"}, {"application_name", ""}})
    protocol::encode_parameter_status(out, name, value);
  cancel_key_ = proxy_.register_cancel_key(id_, std::nullopt);
  protocol::encode_backend_key_data(out, cancel_key_->pid, cancel_key_->key);
  protocol::encode_ready_for_query(out, 'I');
  transport_->write(std::move(out));
  session_.admin_started();
  proxy_.log().info("client {} ({}): admin console for user \"{}\"{}", id_, peer_, user_,
                    may_modify ? "" : " (read-only)");
  if (!transport_->input().empty()) handle_admin(transport_->input());
  transport_->input().release_if_empty();  // read outside on_read: its storage goes back here
}

void ClientConnection::handle_admin(io::InputBuffer& input) {
  while (state() == State::Admin) {
    auto result = reader_.read_typed(input.view());
    if (result.status == protocol::FrameStatus::NeedMore) return;
    if (result.status == protocol::FrameStatus::Malformed) {
      input.consume(input.size());
      return fail(fatal(sqlstate::kProtocolViolation, std::string("invalid message: ") + std::string(result.error)));
    }
    char type = result.frame.type;
    Bytes out;
    if (type == fe::kTerminate) {
      input.consume(input.size());
      return close();
    }
    if (type == fe::kQuery) {
      auto sql = protocol::decode_query(result.frame.body);
      out = sql ? admin_->handle_query(*sql) : admin::error_response("08P01", "malformed Query message");
    } else if (type == fe::kSync) {
      // The extended protocol is refused once per batch, at its Sync.
      if (admin_batch_failed_) out = admin::simple_query_only_response();
      else protocol::encode_ready_for_query(out, 'I');
      admin_batch_failed_ = false;
    } else {
      admin_batch_failed_ = true;
    }
    input.consume(result.frame.size);
    if (!out.empty()) transport_->write(std::move(out));
  }
}

void ClientConnection::wait_for_server() {
  if (!session_.wait_for_server()) return;
  wait_start_ = proxy_.loop().now();
  // query_wait_timeout is the pool's; the login timeout keeps running until login completes.
  if (logged_in()) stop_timer();
}

void ClientConnection::link(ServerConnection* server) {
  if (session_.closed()) return;
  if (pool_) {
    auto waited = proxy_.loop().now() - wait_start_;
    requests_.waited(std::chrono::duration_cast<std::chrono::microseconds>(waited));
    pool_->counters.wait_duration.observe(waited);
    pool_->counters.wait_time_us.inc(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(waited).count()));
  }
  server_ = server;
  using AfterLink = session::ClientSession::AfterLink;
  const AfterLink after = session_.server_linked();
  server->link(this);
  if (after == AfterLink::FinishLoginAndRelease || after == AfterLink::FinishLoginAndRelay) {
    finish_login(*server);
    if (session_.closed()) return;
    if (after == AfterLink::FinishLoginAndRelease) {
      // Transaction mode: the login borrowed a server only to learn its parameters.
      proxy_.release_server(*this);
      return;
    }
  }
  arm_timer();
  // Anything the client sent before its server was ready is waiting in the input buffer.
  read_buffered_input();
}

void ClientConnection::finish_login(ServerConnection& server) {
  // Session mode shows the real backend pid, so pg_backend_pid() and NOTIFY sender pids agree.
  std::optional<std::int32_t> pid;
  if (mode_ == config::PoolMode::Session) pid = server.backend_key().pid;
  const auto& reported = server.parameter_status();
  send_login_reply({reported.begin(), reported.end()}, pid);
  set_desired_settings(server.current_settings());
}

void ClientConnection::login_without_server(const std::vector<std::pair<std::string, std::string>>& parameters) {
  if (session_.closed()) return;
  // The client expects what it would see on a fresh connection: PostgreSQL's reported values
  // with its own settings in, plus the unreported settings it chose (options=-c ...).
  pool::Settings expected = *desired_;
  for (const auto& [name, value] : parameters) expected[pool::lower_name(name)] = value;
  set_desired_settings(std::move(expected));
  send_login_reply(parameters, std::nullopt);
  session_.logged_in_without_server();
  proxy_.log().debug("client {} ({}): logged in without a server", id_, peer_);
  arm_timer();
  read_buffered_input();
}

void ClientConnection::send_login_reply(const std::vector<std::pair<std::string, std::string>>& parameters,
                                        std::optional<std::int32_t> backend_pid) {
  Bytes out;
  for (const auto& [name, value] : parameters) protocol::encode_parameter_status(out, name, value);
  // Without a pid (no server yet, or transaction mode) the proxy makes one up; the secret key
  // is always the proxy's own.
  cancel_key_ = proxy_.register_cancel_key(id_, backend_pid);
  protocol::encode_backend_key_data(out, cancel_key_->pid, cancel_key_->key);
  protocol::encode_ready_for_query(out, 'I');
  transport_->write(std::move(out));
}

void ClientConnection::adopt_reported_settings(const std::map<std::string, std::string>& reported) {
  Bytes out;
  std::optional<pool::Settings> changed;
  for (const auto& [name, value] : reported) {
    auto it = desired_->find(pool::lower_name(name));
    if (it == desired_->end() || it->second == value || pool::is_read_only_parameter(it->first)) continue;
    if (!changed) changed = *desired_;
    (*changed)[it->first] = value;
    protocol::encode_parameter_status(out, name, value);
  }
  if (changed) set_desired_settings(std::move(*changed));
  if (!out.empty()) transport_->write(std::move(out));
}

void ClientConnection::set_desired_settings(pool::Settings settings) {
  auto interned = proxy_.settings_interner().intern_with_hash(std::move(settings));
  desired_ = std::move(interned.value);
  settings_hash_ = interned.hash;
}

void ClientConnection::cancel_waiting_request() {
  if (state() != State::WaitingForServer || !logged_in()) return;
  io::InputBuffer& input = transport_->input();
  ErrorSpec cancelled;
  cancelled.sqlstate = sqlstate::kQueryCanceled;
  cancelled.message = "canceling statement due to user request";
  auto answers = session::answer_waiting_requests(input.view(), cancelled, session::WaitingScope::AllRequests,
                                                  proxy_.config().limits.max_message_size);
  if (!answers) return;  // a request has not fully arrived: it runs as sent
  // Once a server is assigned (being aligned for this client) the request goes ahead as sent.
  if (!pool_ || !pool_->servers.cancel_request(id_)) return;
  input.consume(answers->used);
  proxy_.log().debug("client {}: request cancelled while waiting for a server", id_);
  if (!answers->out.empty()) transport_->write(std::move(answers->out));
  if (answers->terminate) return close();
  session_.waiting_request_answered();
  arm_timer();
  transport_->start_reading();
}

void ClientConnection::unlinked() {
  server_ = nullptr;
  using AfterRelease = session::ClientSession::AfterRelease;
  const AfterRelease after = session_.server_released();
  if (after == AfterRelease::Ignore) return;
  settle_listen();
  if (after == AfterRelease::Shutdown) {
    fail(fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
    return;
  }
  arm_timer();
  read_buffered_input();
}

void ClientConnection::relay(io::InputBuffer& input) {
  // The client's own read, or read_buffered_input() outside every server callback: never from
  // inside a server's read loop (the ServerCallbackScope invariant, checked in debug builds).
  assert(!proxy_.inside_server_callback() && "client requests relayed inside a server callback");
  answered_alone_ = false;
  std::size_t used = relay_bytes(input.view());
  input.consume(std::min(used, input.size()));
  // The proxy answered a request itself (DEALLOCATE, a refused BEGIN) and nothing went to the
  // server: the same boundary as when the server answers. Only now, with the bytes consumed.
  if (answered_alone_ && session_.linked() && server_ && !server_->request_in_flight() && !retry_.pending())
    on_server_boundary();
}

std::size_t ClientConnection::relay_bytes(ByteView data) {
  io::Scratch server_bytes(proxy_.loop().scratch());
  io::Scratch client_bytes(proxy_.loop().scratch());
  OutgoingBytes to_server(server_bytes.bytes());  // messages passed on are sent from `data`
  Bytes& to_client = client_bytes.bytes();
  std::size_t used = 0;
  auto rest = [&] { return data.subspan(used); };
  // Transaction/statement mode maps statement names onto the shared statement cache.
  bool caching = mode_ != config::PoolMode::Session && pool_ && pool_->db.pool.max_prepared_statements > 0;
  while (session_.linked()) {
    // A request waits to run again: what the client sent after it waits too, or the answers
    // would come out of order.
    if (retry_.pending() && !retry_.refeeding()) {
      transport_->stop_reading();
      break;
    }
    auto event = stream_.next(rest());
    if (event.kind == protocol::StreamEventKind::NeedMore) break;
    if (event.kind == protocol::StreamEventKind::Malformed) {
      fail(fatal(sqlstate::kProtocolViolation, std::string("invalid message: ") + std::string(event.error)));
      return data.size();
    }
    if (event.kind == protocol::StreamEventKind::PassThrough) {
      if (retry_.holding()) retry_release_held();  // COPY: not something to run twice
      to_server.relay(event.bytes);
      used += event.consumed;
      continue;
    }
    const char type = event.frame.type;
    ClientMessage message;
    message.type = type;
    message.body = event.frame.body;
    message.raw = rest().subspan(0, event.consumed);
    if (type == fe::kTerminate) {
      // The client is done; the server stays with the proxy.
      used += event.consumed;
      if (!to_client.empty()) transport_->send(to_client);
      if (!to_server.empty()) server_->send_from_client(to_server.bytes(), extended_pending_);
      close();
      return data.size();
    }
    // A Query's or Parse's text: decoded and scanned once here, for every step below.
    if (type == fe::kQuery) {
      message.text = protocol::decode_query(message.body);
    } else if (type == fe::kParse) {
      message.parse = protocol::decode_parse(message.body);
      if (message.parse) message.text = message.parse->query;
    } else if (type == fe::kBind) {
      message.bind = protocol::decode_bind_names(message.body);
    }
    // A Parse's text comes again with every execution (values travel in Bind): looked up by its
    // hash. A Query's text usually carries its values, so it is scanned.
    if (message.text)
      message.shape = type == fe::kParse ? proxy_.shape_cache().shape_of(*message.text) : sql::query_shape(*message.text);
    if (type == fe::kQuery && message.text && mode_ != config::PoolMode::Session &&
        intercept_query(*message.text, to_client)) {
      used += event.consumed;
      answered_alone_ = true;
      if (!session_.linked()) return data.size();
      continue;
    }
    // Only a Parse starts the emulated extended DEALLOCATE; the rest follow one.
    if (caching && (type == fe::kParse || deallocating_) && answer_deallocate_batch(message, to_client)) {
      used += event.consumed;
      continue;
    }
    if (message.text && mode_ != config::PoolMode::Session)
      message.may_change = proxy_.session_classifier().may_change_session_state(*message.text, message.shape.key);
    // LISTEN and a refused statement are texts that may change session state (may_change).
    if (message.may_change && !listen_registered_first(message)) {
      transport_->stop_reading();  // listener_ready() goes on
      break;
    }
    retry_start_if_possible();
    if (mode_ != config::PoolMode::Session) track_session_message(message);
    requests_.on_client_message(type, message.body, message.parse ? &*message.parse : nullptr, message.text,
                                message.shape, message.bind ? &*message.bind : nullptr);
    if (retry_.holding()) retry_track(message);
    if (type == fe::kSync || type == fe::kQuery) extended_pending_ = false;
    else if (is_extended(type)) extended_pending_ = true;
    OURO_TRACE(proxy_.log(), "client {} -> server {}: '{}'", id_, server_->id(), type);
    std::optional<SessionRefusal> refused;  // session_state: refuse
    if (message.may_change) refused = refuse_session_state(message);
    if (refused) to_server.copy_everything();  // its stand-in message ends with this iteration
    auto rewritten = proxy_.statement_rewriter().on_client_message(
        type, refused ? refused->body() : message.body, refused ? ByteView(refused->message) : message.raw,
        caching, statements_, server_->prepared(), server_->replies(), to_server, to_client,
        refused || !message.parse ? nullptr : &*message.parse, message.bind ? &*message.bind : nullptr);
    if (refused) server_->replies().refuse_last(std::move(refused->error));
    used += event.consumed;
    if (rewritten.malformed) {
      fail(fatal(sqlstate::kProtocolViolation, std::string("malformed message of type '") + type + "'"));
      return data.size();
    }
  }
  if (!to_client.empty()) send_from_server(to_client);
  if (!to_server.empty()) answered_alone_ = false;
  if (!to_server.empty() && server_) {
    if (pool_) pool_->counters.bytes_received.inc(to_server.size());
    if (session_.request_sent()) {
      advisory_locks_checked_ = false;
      transaction_start_ = proxy_.loop().now();
    }
    request_at_ = std::chrono::system_clock::now();
    server_->send_from_client(to_server.bytes(), extended_pending_);
    arm_timer();
    if (server_ && server_->transport()->above_high_water()) transport_->stop_reading();
  }
  return used;
}

// ---- automatic retries ----

void ClientConnection::retry_start_if_possible() {
  if (!retry_.idle()) return;
  const auto& retry = proxy_.config().retry;
  // Only a request that starts outside a transaction block, with nothing else outstanding.
  if (!retry.enabled || retry.max_attempts < 2 || !server_ || !requests_.empty() ||
      server_->transaction_status() != 'I' || server_->request_in_flight())
    return;
  retry_clear();
  retry_.start(proxy_.loop().scratch().take(), proxy_.loop().scratch().take());
}

void ClientConnection::retry_track(const ClientMessage& message) {
  if (!retry_.track(message.type, message.raw, message.text, message.shape)) retry_release_held();
}

void ClientConnection::retry_release_held() {
  Bytes held = retry_.take_held();
  retry_clear();
  if (!held.empty()) send_from_server(held);
  proxy_.loop().scratch().give(std::move(held));
}

void ClientConnection::retry_clear() {
  // The buffers go back to the loop's pool: the next request's retry state reuses them.
  retry_.clear([&scratch = proxy_.loop().scratch()](Bytes buffer) { scratch.give(std::move(buffer)); });
}

void ClientConnection::retry_reset() {
  if (retry_timer_) retry_timer_->stop();
  retry_clear();
}

// A run of the held request finished. True when it will run again (its output is dropped).
bool ClientConnection::retry_decide(const session::TrackedRequest& request, std::chrono::microseconds elapsed) {
  if (!retry_.holding()) return false;
  const auto& config = proxy_.config().retry;
  const auto& b = config.backoff;
  const session::RetryPolicy policy{config.max_attempts, config.sqlstates, {b.initial, b.max, b.multiplier, b.jitter}};
  const session::RequestError* error = request.error.get();
  const auto verdict = retry_.finished(error ? std::string_view(error->sqlstate) : std::string_view(),
                                       error ? std::string_view(error->message) : std::string_view(), policy,
                                       proxy_.random());
  if (verdict.again) {
    proxy_.query_retried(*this, request.sql, request.statement, *error, elapsed, static_cast<int>(retry_.attempt()),
                         verdict.delay);
    if (!retry_timer_) retry_timer_ = std::make_unique<io::Timer>(proxy_.loop());
    retry_timer_->start(verdict.delay, [this] { retry_run_again(); });
    return true;
  }
  if (verdict.reran) {
    auto r = verdict.stale_plan               ? RetryReason::StalePlan
             : verdict.sqlstate == "40001" ? RetryReason::Serialization
             : verdict.sqlstate == "40P01" ? RetryReason::Deadlock
                                            : RetryReason::Other;
    auto outcome = error ? RetryOutcome::Failed : RetryOutcome::Succeeded;
    proxy_.counters().retries[static_cast<std::size_t>(r)][static_cast<std::size_t>(outcome)].inc();
  }
  return false;
}

void ClientConnection::retry_run_again() {
  if (!retry_.pending() || !session_.linked() || !server_) return;
  Bytes request = retry_.begin_refeed();  // a copy: relay_bytes may reset the state
  relay_bytes(request);
  retry_.end_refeed();
}

bool ClientConnection::answer_deallocate_batch(const ClientMessage& message, Bytes& to_client) {
  using Kind = session::Expectation::Kind;
  using Answer = session::Expectation::Answer;
  auto& rewriter = proxy_.statement_rewriter();
  auto& replies = server_->replies();
  if (replies.skipping()) return false;
  const ByteView body = message.body;
  switch (message.type) {
    case fe::kParse: {
      const std::optional<protocol::Parse>& parse = message.parse;
      if (!parse || !parse->statement.empty()) return false;
      sql::Command command = sql::classify(parse->query);
      if (command.kind != sql::CommandKind::Deallocate || !statements_.count(command.name) ||
          has_sql_statement(command.name))
        return false;
      deallocating_ = std::make_unique<std::string>(command.name);
      rewriter.answer(Kind::Parse, Answer::ParseComplete, replies, to_client);
      return true;
    }
    case fe::kBind: {
      if (!deallocating_) return false;
      const std::optional<protocol::BindNames>& bind = message.bind;
      if (!bind || !bind->statement.empty() || !bind->portal.empty()) return false;
      rewriter.answer(Kind::Bind, Answer::BindComplete, replies, to_client);
      return true;
    }
    case fe::kDescribe: {
      if (!deallocating_) return false;
      auto describe = protocol::decode_describe(body);
      if (!describe || !describe->name.empty()) return false;
      bool statement = describe && describe->kind == 'S';
      rewriter.answer(statement ? Kind::DescribeStatement : Kind::DescribePortal,
                      statement ? Answer::NoParametersNoData : Answer::NoData, replies, to_client);
      return true;
    }
    case fe::kExecute: {
      if (!deallocating_) return false;
      auto execute = protocol::decode_execute(body);
      if (!execute || !execute->portal.empty()) return false;
      statements_.erase(*deallocating_);
      deallocating_.reset();  // pipelines send no Sync between statements
      rewriter.answer(Kind::Execute, Answer::DeallocateTag, replies, to_client);
      return true;
    }
    case fe::kSync:
      deallocating_.reset();  // the Sync itself goes to the server, which answers ReadyForQuery
      return false;
    default:
      return false;
  }
}

bool ClientConnection::intercept_query(std::string_view sql, Bytes& to_client) {
  sql::Command command = sql::classify(sql);
  switch (command.kind) {
    case sql::CommandKind::Begin:
      if (mode_ == config::PoolMode::Statement) {
        proxy_.statement_rewriter().refuse(
            "transaction blocks are not allowed in statement pooling mode",
            "use transaction or session pool mode for this client", server_->replies(), to_client);
        return true;
      }
      return false;
    case sql::CommandKind::Deallocate:
      // psycopg evicts its statement cache this way: the name is the client's protocol-level one.
      // A SQL-level statement of that name is on the server: its DEALLOCATE goes there.
      return pool_ && pool_->db.pool.max_prepared_statements > 0 && !has_sql_statement(command.name) &&
             proxy_.statement_rewriter().deallocate(command.name, server_->transaction_status(), statements_,
                                                    server_->replies(), to_client);
    case sql::CommandKind::Prepare:
    case sql::CommandKind::Execute:
      // SQL-level prepared statements follow the client (client_sql_statements.cpp): counted.
      proxy_.statement_rewriter().count_sql_prepare();
      return false;
    default:
      return false;
  }
}

bool ClientConnection::answer_after_loss(io::InputBuffer& input) {
  Bytes out;
  bool staying = true;
  while (staying && lost_->active()) {
    auto event = stream_.next(input.view());
    if (event.kind == protocol::StreamEventKind::NeedMore) break;
    if (event.kind == protocol::StreamEventKind::Malformed) {
      input.consume(input.size());
      fail(fatal(sqlstate::kProtocolViolation, std::string("invalid message: ") + std::string(event.error)));
      return false;
    }
    input.consume(event.consumed);
    if (event.kind == protocol::StreamEventKind::PassThrough) continue;  // COPY data: ignored
    staying = lost_->on_client_message(event.frame.type, event.frame.body, out);
  }
  if (!out.empty()) transport_->write(std::move(out));
  if (!staying) {
    close();
    return false;
  }
  if (!lost_->active()) lost_.reset();
  return true;
}

session::ClientSessionState& ClientConnection::make_session_state() {
  // The settings the client expects before its first SET: its start-up ones.
  session_state_ = std::make_unique<session::ClientSessionState>(
      pool::startup_settings(*parameters_), session::ClientSessionState::Outstanding{requests_.size(), batch_executes_});
  return *session_state_;
}

void ClientConnection::track_session_message(const ClientMessage& message) {
  // Without a state yet, only a text that may change session state costs more than a look at
  // its first words; with one, every statement is classified (transaction control, without the
  // parser) so the state knows which transaction a change belongs to.
  const ByteView body = message.body;
  switch (message.type) {
    case fe::kQuery:
      if (const auto& sql = message.text) {
        if (!session_state_ && !message.may_change) return;
        auto& state = session_state_ ? *session_state_ : make_session_state();
        state.query(proxy_.session_classifier().classify(*sql));
      }
      return;
    case fe::kParse:
      if (const auto& parse = message.parse) {
        if (!session_state_ && !message.may_change) return;
        auto& state = session_state_ ? *session_state_ : make_session_state();
        sql::Classification classification = proxy_.session_classifier().classify(parse->query);
        state.parse(parse->statement, &classification);
      }
      return;
    case fe::kBind:
      if (!session_state_) return;
      if (message.bind) session_state_->bind(message.bind->portal, message.bind->statement);
      return;
    case fe::kExecute:
      ++batch_executes_;
      if (!session_state_) return;
      if (auto execute = protocol::decode_execute(body)) session_state_->execute(execute->portal);
      return;
    case fe::kClose:
      if (!session_state_) return;
      if (auto close = protocol::decode_close(body); close && close->kind == 'S')
        session_state_->close_statement(close->name);
      return;
    case fe::kSync:
      batch_executes_ = 0;
      if (session_state_) session_state_->sync();
      return;
    case fe::kFunctionCall:
      if (session_state_) session_state_->plain_request();
      return;
    default:
      return;
  }
}

void ClientConnection::settings_read_back(const std::vector<std::pair<std::string, std::string>>& values) {
  if (!session_state_) return;
  for (const auto& [name, value] : values) {
    if (name == ServerConnection::kAdvisoryLocksRow) {
      if (value == "0") session_state_->tracker().advisory_locks_released();
      continue;
    }
    session_state_->settings().learned(name, value);
  }
  session_state_->settings().readback_complete();
  session_state_->note_changed();
}

void ClientConnection::settle_session_changes(ServerConnection& server) {
  if (std::exchange(listened_on_server_, false)) server.mark_listened();
  settle_sql_statements(server);
  if (!session_state_ || !session_state_->take_changed()) return;
  // Reported settings are what the server said last (ParameterStatus, already in desired_);
  // the others are what the client's statements set.
  std::set<std::string> reported;
  for (const auto& [name, value] : server.parameter_status()) reported.insert(pool::lower_name(name));
  pool::Settings desired;
  for (const auto& [name, value] : *desired_)
    if (reported.count(name)) desired.emplace(name, value);
  for (auto& [name, value] : session_state_->settings().expected())
    if (!reported.count(name)) desired.emplace(name, value);
  pool::Settings applied;
  for (const auto& [name, value] : desired)
    if (!reported.count(name)) applied.emplace(name, value);
  set_desired_settings(std::move(desired));
  server.settings_changed_by_client(std::move(applied), settings_hash_);
}

void ClientConnection::restore_start_up_settings() {
  std::vector<std::string> resets = session_state_->take_resets();
  if (resets.empty() || !server_) return;
  const session::SessionSettings& settings = session_state_->settings();
  std::set<std::string> names;
  for (const std::string& name : resets) {
    if (name != "*") {
      if (settings.startup().count(name)) names.insert(name);
      continue;
    }
    for (const auto& [startup_name, value] : settings.startup()) names.insert(startup_name);
  }
  // What the client expects now: its start-up value, or (the RESET was rolled back with its
  // transaction) what it had before, which the server has too.
  std::string sql;
  for (const std::string& name : names) {
    std::optional<std::string> value = settings.value(name);
    if (!value || pool::is_read_only_parameter(name)) continue;
    sql += sql.empty() ? "SELECT " : ", ";
    sql += pool::set_config_call(name, *value);
  }
  if (!sql.empty()) server_->send_hidden_query(sql);
}

void ClientConnection::request_error(const protocol::ErrorFields& fields) {
  if (session_state_) session_state_->statement_failed();
  requests_.error(fields);
}

void ClientConnection::request_rows(std::uint64_t rows) {
  requests_.rows(rows);
}

void ClientConnection::request_finished(std::chrono::microseconds elapsed) {
  if (session_state_ && server_) {
    session_state_->ready_for_query(server_->transaction_status());
    restore_start_up_settings();
  }
  if (requests_.empty()) return;
  session::TrackedRequest request = requests_.finish();
  if (retry_decide(request, elapsed)) return;
  if (retry_.holding()) retry_release_held();
  proxy_.query_finished(*this, request.sql, request.shape.key, request.statement,
                        request.error.get(), request.rows, elapsed, request.wait);
  requests_.recycle(std::move(request));
}

std::string ClientConnection::application_name() const {
  if (!desired_) return {};
  auto it = desired_->find("application_name");
  return it == desired_->end() ? std::string() : it->second;
}

void ClientConnection::send_from_server(ByteView bytes, bool whole_request) {
  if (!session_.linked() && state() != State::Idle) return;
  // A request's whole output in one piece, without an error: it cannot run again, so it goes to
  // the client at once instead of through the held buffer (the common case: one read).
  const bool final_run = whole_request && retry_.held_nothing() && !requests_.oldest_failed();
  if (retry_.holding() && !final_run) {
    // Output too large to keep: the client gets it now, and this run is final.
    if (!retry_.hold(bytes)) retry_release_held();
    return;
  }
  if (pool_) pool_->counters.bytes_sent.inc(bytes.size());
  transport_->send(bytes);
}

void ClientConnection::send_asynchronous(char type, ByteView message) {
  if (!session_.linked() && state() != State::Idle) return;
  // Transaction mode: the pool's listening connection delivers this client's notifications; one
  // on a pooled server is a duplicate, or another client's LISTEN left behind.
  if (type == protocol::backend::kNotification && mode_ != config::PoolMode::Session) return;
  // A notification comes from another session and is never repeated by a re-run; a notice an
  // earlier run of a held request sent is not sent again.
  if (retry_.holding() && type != protocol::backend::kNotification && !retry_.first_time_asynchronous(message))
    return;
  if (pool_) pool_->counters.bytes_sent.inc(message.size());
  transport_->write(Bytes(message.begin(), message.end()));
}

void ClientConnection::parameter_changed(std::string_view name, std::string_view value) {
  std::string lower = pool::lower_name(std::string(name));
  auto it = desired_->find(lower);
  if (it != desired_->end() && it->second == value) return;
  pool::Settings changed = *desired_;
  changed[lower] = std::string(value);
  set_desired_settings(std::move(changed));
}

void ClientConnection::on_server_boundary() {
  if (!session_.linked() || !server_) return;
  using Step = session::BoundaryDecision::Step;
  const char status = server_->transaction_status();
  const session::BoundaryDecision decision = session_.at_boundary(status, retry_.pending());
  if (decision.step == Step::Wait) return;
  OURO_TRACE(proxy_.log(), "client {}: server {} answered everything, transaction status {}", id_, server_->id(), status);
  if (decision.transaction_ended && pool_) {
    auto elapsed = proxy_.loop().now() - transaction_start_;
    pool_->counters.transactions.inc();
    pool_->counters.transaction_duration.observe(elapsed);
    pool_->counters.transaction_time_us.inc(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
  }
  Step step = decision.step;
  if (step == Step::RefuseTransactionBlock) return refuse_transaction_block();
  // A client pinned by session state that cannot move keeps its server, as in session mode.
  if (step == Step::OfferServer) {
    if (proxy_.release_server(*this)) return;
    step = decision.if_kept;
  }
  if (step == Step::Shutdown) {
    return fail(fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
  }
  arm_timer();
  // Requests that waited behind a retry go now.
  if (session_.linked() && !transport_->reading()) read_buffered_input();
}

void ClientConnection::refuse_transaction_block() {
  // A transaction block slipped through in statement mode (extended protocol): roll it back on
  // the server and answer the ReadyForQuery the server's reply would have carried with an error.
  Bytes out;
  ErrorSpec error;
  error.sqlstate = sqlstate::kFeatureNotSupported;
  error.message = "transaction blocks are not allowed in statement pooling mode";
  error.detail = "the transaction was rolled back; use transaction or session pool mode";
  protocol::encode_error_response(out, error);
  protocol::encode_ready_for_query(out, 'I');
  transport_->write(std::move(out));
  ServerConnection* server = server_;
  server_ = nullptr;
  settle_session_changes(*server);
  // Session state that cannot move does not go to the next client: the server is cleaned.
  bool discard = session_state_ && session_state_->tracker().pinned();
  if (discard) {
    session_state_->server_lost();
    pinned_ = session::PinReason::None;
  }
  server->unlink_and_reset(discard);
  unlinked();
}

void ClientConnection::stop_timer() {
  if (timer_) timer_->stop();
}

void ClientConnection::start_timer(Duration after, std::function<void()> fn) {
  if (!timer_) timer_ = std::make_unique<io::Timer>(proxy_.loop());
  timer_->start(after, std::move(fn));
}

void ClientConnection::start_ending_timer(Duration limit, std::string_view code, std::string_view setting) {
  if (limit.count() <= 0) return stop_timer();
  start_timer(limit, [this, limit, code, setting] {
    fail(fatal(code, "terminating connection due to " + std::string(setting) + " (" + ms(limit) + ") set in the proxy"));
  });
}

void ClientConnection::arm_timer() {
  // Before login client_login_timeout runs on (ClientSession::timer says Unchanged).
  if (!pool_ || !session_.logged_in()) return;
  const config::PoolSettings& settings = pool_->db.pool;
  if (settings.query_timeout.count() <= 0 && settings.idle_transaction_timeout.count() <= 0 &&
      settings.client_idle_timeout.count() <= 0) {
    // No timeout after login (the default): an idle client keeps no timer (a libuv handle).
    timer_.reset();
    return;
  }
  // Linked, the server tells whether a request runs or a block is open; linked without one
  // (only in passing, while its server is being lost) no timeout runs.
  const session::ClientTimer which =
      !session_.linked() ? session_.timer(false, 'I')
      : server_          ? session_.timer(server_->request_in_flight(), server_->transaction_status())
                         : session::ClientTimer::None;
  switch (which) {
    case session::ClientTimer::Query: {
      auto limit = settings.query_timeout;
      if (limit.count() <= 0) return stop_timer();
      return start_timer(limit, [this, limit] {
        if (session_.linked() && server_)
          server_->cancel_running_query("canceling statement due to query_timeout (" + ms(limit) + ") set in the proxy");
      });
    }
    case session::ClientTimer::IdleTransaction:
      return start_ending_timer(settings.idle_transaction_timeout, sqlstate::kIdleInTransactionTimeout,
                                "idle_transaction_timeout");
    case session::ClientTimer::ClientIdle:
      return start_ending_timer(settings.client_idle_timeout, sqlstate::kIdleSessionTimeout, "client_idle_timeout");
    case session::ClientTimer::None:
    case session::ClientTimer::Unchanged:
      return stop_timer();
  }
}

void ClientConnection::read_buffered_input() {
  transport_->start_reading();
  if (!transport_->input().empty()) {
    // Inside a server's callback (a transaction ended there, and that server, or another, went to
    // this client or back to the pool): the client's next requests go once it has returned.
    if (proxy_.inside_server_callback()) return proxy_.resume_client_later(id_);
    on_readable(transport_->input());
  }
  transport_->input().release_if_empty();  // read outside on_read: its storage goes back here
}

void ClientConnection::resume_reading() {
  if (!session_.linked() || transport_->reading()) return;
  transport_->start_reading();
}

void ClientConnection::on_drained() {
  if (server_ && server_->transport()) server_->transport()->start_reading();
}

void ClientConnection::request_shutdown() {
  if (session_.request_shutdown(busy())) fail(fatal(sqlstate::kAdminShutdown, "terminating connection due to administrator command"));
}

void ClientConnection::fail(const ErrorSpec& error) {
  if (session_.closed()) return;
  Bytes out;
  protocol::encode_error_response(out, error);
  transport_->write(std::move(out));
  transport_->close_after_flush();
  close();
}

void ClientConnection::server_lost(std::string_view reason, const LostRequest& lost_request) {
  if (pinned_ != session::PinReason::None) pinned_server_lost(reason, lost_request);
  server_ = nullptr;
  if (!session_.linked()) return;
  if (session_state_) session_state_->server_lost();
  batch_executes_ = 0;
  LostRequest lost = lost_request;
  // A held run is dropped; a request waiting to run again is still owed its answer.
  if (retry_.pending()) lost.replies_expected += 1;
  // PostgreSQL's own last word, when it said why it closed (57P01 after pg_terminate_backend,
  // a PANIC, ...): the client hears it instead of the proxy's guess.
  std::optional<protocol::ErrorFields> said;
  if (lost.fatal_error.size() > 5) said = protocol::decode_error_fields(lost.fatal_error.subspan(5));
  proxy_.log().warn("client {} ({}): server connection lost: {}", id_, peer_, reason);
  using Step = session::LostDecision::Step;
  const session::LostDecision decision = session_.server_lost(
      {lost.cut_mid_message, lost.recoverable, said.has_value(), lost.transaction_status, lost.replies_expected});
  // What a statement held for a retry had sent before the server died goes first, as on a
  // direct connection, when PostgreSQL's own FATAL follows it.
  if (decision.step == Step::ForwardFatalAndClose && retry_.holding()) retry_release_held();
  retry_reset();
  requests_.clear();
  switch (decision.step) {
    case Step::Ignore:
      return;
    case Step::Close:
      // The client holds the start of a message whose rest will never come: any byte more (an
      // ErrorResponse) would be read as that message's content. Closing is the only clean end.
      transport_->close_after_flush();
      return close();
    case Step::ForwardFatalAndClose:
      transport_->write(Bytes(lost.fatal_error.begin(), lost.fatal_error.end()));
      transport_->close_after_flush();
      return close();
    case Step::FailAndClose:
      return fail(fatal(sqlstate::kConnectionFailure, "server connection lost: " + std::string(reason)));
    case Step::AnswerAndGoOn:
      break;
  }
  // The transaction is gone but the session is not. Requests in flight get an error. Inside a
  // transaction block the client then stays in a failed block (as after any error there) until
  // it ends it, so nothing it pipelined after can commit half a transaction. The session goes
  // on, so PostgreSQL's FATAL reaches the client as an ERROR with all its fields: a driver would
  // close the connection on a FATAL.
  Bytes said_error;
  if (decision.use_server_error) protocol::encode_error_with_severity(said_error, *said, "ERROR");
  if (lost.replies_expected > 0) {
    Bytes out;
    if (decision.use_server_error) {
      append(out, said_error);
    } else {
      const std::string message = "server connection lost during the transaction: " + std::string(reason);
      ErrorSpec error;  // views: `message` must outlive it
      error.sqlstate = sqlstate::kConnectionFailure;
      error.message = message;
      error.detail = "the transaction was rolled back; the session can continue";
      protocol::encode_error_response(out, error);
    }
    for (int i = 0; i < lost.replies_expected; ++i) protocol::encode_ready_for_query(out, decision.in_block ? 'E' : 'I');
    transport_->write(std::move(out));
  }
  if (decision.in_block)
    lost_answers().transaction_lost(std::string(reason), std::move(said_error), lost.replies_expected > 0);
  extended_pending_ = false;
  unlinked();
}

void ClientConnection::on_transport_closed(std::string_view reason) {
  proxy_.log().debug("client {} ({}): {}", id_, peer_, reason);
  close();
}

void ClientConnection::close() {
  if (!session_.close()) return;
  stop_timer();
  if (retry_timer_) retry_timer_->stop();
  transport_->close();  // paths that must deliver a last message flushed it already
  if (cancel_key_) proxy_.unregister_cancel_key(*cancel_key_);
  stop_listening();
  proxy_.client_closed(*this);
}

}  // namespace ouroboros::proxy
