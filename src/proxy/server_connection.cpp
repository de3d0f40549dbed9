#include "proxy/server_connection.h"

#include "common/hot_log.h"
#include "io/tls_transport.h"
#include "protocol/sqlstate.h"
#include "proxy/client_connection.h"
#include "proxy/pool_listener.h"
#include "proxy/proxy.h"

namespace ouroboros::proxy {

namespace {
namespace be = protocol::backend;

// Login-phase messages are small; anything bigger is a protocol error.
constexpr std::size_t kMaxLoginMessage = 1u << 20;
// Largest server message read whole while relaying (ErrorResponse with a long detail).
constexpr std::size_t kMaxWholeServerMessage = 16u << 20;

// While relaying, only these server messages are read whole; all others stream through.
// (Every message that ends a reply is among them, so the proxy's own answers can follow it.)
// Notices, ParameterStatus and notifications are read whole so they can reach the client at once,
// ahead of output held back for a possible retry.
const protocol::TypeSet kRelayWholeTypes{be::kReadyForQuery,   be::kParameterStatus,  be::kErrorResponse,
                                         be::kCommandComplete, be::kParseComplete,    be::kBindComplete,
                                         be::kCloseComplete,   be::kNoData,           be::kRowDescription,
                                         be::kEmptyQueryResponse, be::kPortalSuspended, be::kNoticeResponse,
                                         be::kNotification};

bool is_asynchronous(char type) {
  return type == be::kNoticeResponse || type == be::kParameterStatus || type == be::kNotification;
}

// During login every message is read whole.
protocol::TypeSet all_types() {
  protocol::TypeSet set;
  for (int t = 0; t < 256; ++t) set.add(static_cast<char>(t));
  return set;
}

OwnedError unable_to_connect(std::string message, std::string detail = {}) {
  return {"FATAL", std::string(sqlstate::kSqlclientUnableToEstablishConnection), std::move(message),
          std::move(detail)};
}
}  // namespace

ServerConnection::ServerConnection(Proxy& proxy, PoolEntry& pool, pool::ServerId id,
                                   pool::StartupParameters parameters)
    : proxy_(proxy),
      pool_(pool),
      id_(id),
      host_(pool.db.host),
      port_(pool.db.port),
      created_(proxy.loop().now()),
      startup_parameters_(std::move(parameters)),
      connect_timer_(proxy.loop()),
      stream_(protocol::FrameReader(kMaxLoginMessage), all_types()),
      prepared_(pool.db.pool.max_prepared_statements) {}

ServerConnection::~ServerConnection() = default;

void ServerConnection::start(auth::BackendCredentials credentials) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"user", credentials.user}, {"database", pool_.db.dbname}};
  for (const auto& p : startup_parameters_) params.push_back(p);
  protocol::encode_startup(startup_message_, params);
  credentials_ = credentials;
  authenticator_.emplace(std::move(credentials));
  using config::ServerTlsMode;
  tls_attempt_ = pool_.db.tls.mode != ServerTlsMode::Disable && pool_.db.tls.mode != ServerTlsMode::Allow;

  auto timeout = proxy_.config().timeouts.server_connect_timeout;
  connect_timer_.start(timeout, [this, timeout] {
    login_failed(unable_to_connect("could not connect to server: timeout after " +
                                       std::to_string(timeout.count()) + "ms",
                                   host_ + ":" + std::to_string(port_)));
  });
  connect();
}

void ServerConnection::connect() {
  connector_ = std::make_unique<io::TcpConnector>(
      proxy_.loop(), host_, port_, [this](std::unique_ptr<io::TcpTransport> t, std::string error) {
        if (!t) return login_failed(unable_to_connect("could not connect to server: " + error));
        on_connected(std::move(t));
      });
  connector_->start();
}

void ServerConnection::on_connected(std::unique_ptr<io::TcpTransport> t) {
  proxy_.log().debug("server {}: connected to {}:{}{}", id_, host_, port_, tls_attempt_ ? ", asking for TLS" : "");
  transport_ = std::move(t);
  transport_->set_handler(this);
  transport_->set_high_water(proxy_.config().limits.buffer_high_water);
  // A pooled server reads in every transaction: it keeps its read block (a few per pool) rather
  // than taking one from the loop and giving it back on every read.
  transport_->input().keep_storage();
  state_ = State::LoggingIn;
  if (tls_attempt_) {
    Bytes out;
    protocol::encode_ssl_request(out);
    transport_->write(std::move(out));
    tls_step_ = TlsStep::AwaitingAnswer;
  } else {
    transport_->write(startup_message_);
  }
  transport_->start_reading();
}

OwnedError ServerConnection::tls_failure(std::string_view what) const {
  std::string message = "SSL connection to server \"" + host_ + "\" port " + std::to_string(port_) +
                        " failed: " + std::string(what);
  const auto& tls = pool_.db.tls;
  if (what.find("hostname mismatch") != std::string_view::npos)
    message += " (the certificate is not for \"" + (tls.server_name.empty() ? host_ : tls.server_name) + "\")";
  OwnedError error{"FATAL", std::string(sqlstate::kConnectionFailure), std::move(message), {}};
  error.permanent = what.find("certificate verify failed") != std::string_view::npos ||
                    what.find("does not support SSL") != std::string_view::npos;
  return error;
}

void ServerConnection::answer_to_ssl_request(io::InputBuffer& input) {
  if (input.empty()) return;
  char answer = static_cast<char>(input.view()[0]);
  input.consume(1);
  if (!input.empty()) {
    // Bytes after the answer were not encrypted by anyone we verified (CVE-2021-23222).
    input.consume(input.size());
    return login_failed(tls_failure("received unencrypted data after SSL response"));
  }
  if (answer == 'S') return start_tls();
  if (answer != 'N') return login_failed(tls_failure(std::string("invalid response to SSL negotiation: ") + answer));
  if (pool_.db.tls.mode != config::ServerTlsMode::Prefer)
    return login_failed(tls_failure("the server does not support SSL, but SSL was required"));
  // prefer: plain text it is.
  tls_step_ = TlsStep::Off;
  transport_->write(startup_message_);
}

void ServerConnection::start_tls() {
  const io::TlsContext* context = proxy_.tls().database(pool_.db.name);
  if (!context)
    return login_failed(tls_failure("no TLS context (" + proxy_.tls().database_error(pool_.db.name) + ")"));
  const auto& tls = pool_.db.tls;
  io::TlsOptions options;
  options.server_name = tls.server_name.empty() ? host_ : tls.server_name;
  options.verify_host = tls.mode == config::ServerTlsMode::VerifyFull;
  options.on_handshake = [this](bool ok, std::string_view error) {
    proxy_.counters().tls_handshake(TlsSide::Server, ok);
    if (ok) tls_step_ = TlsStep::Done;
    if (!ok) proxy_.log().error("server {}: TLS handshake with {}:{} failed: {}", id_, host_, port_, error);
  };
  // The TCP transport is inside its own read callback: it lives on inside the TLS one.
  auto wrapped = std::make_unique<io::TlsTransport>(std::move(transport_), *context, std::move(options),
                                                    &proxy_.loop().buffers());
  io::TlsTransport& ref = *wrapped;
  transport_ = std::move(wrapped);
  transport_->set_handler(this);
  transport_->set_high_water(proxy_.config().limits.buffer_high_water);
  transport_->input().keep_storage();  // the plaintext block too (see on_connected)
  tls_step_ = TlsStep::Handshaking;
  std::string error = ref.start();
  if (!error.empty()) return login_failed(tls_failure(error));
  transport_->write(startup_message_);  // held until the handshake completes
  transport_->start_reading();
}

void ServerConnection::retry_with_tls(std::string_view why) {
  proxy_.log().info("server {}: {}:{} refused the plain-text login ({}); trying again with TLS (tls.mode allow)", id_,
                    host_, port_, why);
  // Destroyed on the next loop turn: its read callback is running.
  std::shared_ptr<io::Transport> old(std::move(transport_));
  old->close();
  proxy_.loop().defer([old] {});
  parameter_status_.clear();
  authenticator_.emplace(credentials_);
  tls_attempt_ = true;
  tls_step_ = TlsStep::Off;
  state_ = State::Connecting;
  connect();
}

void ServerConnection::login_failed(OwnedError error) {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  connect_timer_.stop();
  connector_.reset();
  if (transport_) transport_->close();
  proxy_.server_login_failed(*this, std::move(error));
}

pool::Settings ServerConnection::current_settings() const {
  pool::Settings settings = applied_;
  for (const auto& [name, value] : parameter_status_) settings[pool::lower_name(name)] = value;
  return settings;
}

void ServerConnection::flush_to_client(OutgoingBytes& to_client, bool whole_request) {
  if (to_client.empty() || !client_) return;
  client_->send_from_server(to_client.bytes(), whole_request);
  to_client.clear();
}

void ServerConnection::on_readable(io::InputBuffer& input) {
  if (tls_step_ == TlsStep::AwaitingAnswer) return answer_to_ssl_request(input);
  Proxy::ServerCallbackScope callback(proxy_);
  io::Scratch client_bytes(proxy_.loop().scratch());
  OutgoingBytes to_client(client_bytes.bytes());  // forwarded messages are sent from `input`
  // Connecting again: a tls.mode allow retry left this (old) connection.
  while (state_ != State::Closed && state_ != State::Connecting) {
    auto event = stream_.next(input.view());
    if (event.kind == protocol::StreamEventKind::NeedMore) break;
    if (event.kind == protocol::StreamEventKind::Malformed) {
      input.consume(input.size());
      proxy_.log().warn("server {}: malformed message from PostgreSQL: {}", id_, event.error);
      flush_to_client(to_client);
      close("protocol error from server");
      return;
    }
    if (event.kind == protocol::StreamEventKind::PassThrough) {
      // Only a linked server streams messages to its client; anything else is hidden.
      if (event.message_start && state_ == State::Linked) {
        replies_.on_server_message(event.type, {}, route_);
        forwarding_ = route_.forward;
        // COPY needs the client to act on this message now: it cannot be held for a retry.
        if (client_ && (event.type == be::kCopyInResponse || event.type == be::kCopyOutResponse ||
                        event.type == be::kCopyBothResponse)) {
          flush_to_client(to_client);
          client_->copy_started();
        }
      }
      if (state_ == State::Linked && forwarding_) to_client.relay(event.bytes);
      input.consume(event.consumed);
      continue;
    }
    const protocol::Frame frame = event.frame;
    if (state_ == State::LoggingIn) {
      handle_login_message(frame);
      input.consume(event.consumed);
      continue;
    }
    ByteView raw = input.view().subspan(0, event.consumed);
    if (state_ != State::Linked) {
      handle_relay_message(frame, raw, to_client);  // internal queries and idle-time messages
      if (listener_) listener_->server_message(frame.type, raw);
      input.consume(event.consumed);
      continue;
    }
    session::Route& route = route_;  // reused: no allocation or clearing of fresh buffers per message
    replies_.on_server_message(frame.type, frame.body, route);
    if (route.internal) {
      // The proxy's own query in the client's session (send_hidden_query): none of it reaches
      // the client, and it ends none of the client's requests.
      if (frame.type == be::kReadyForQuery) {
        if (auto status = protocol::decode_ready_for_query(frame.body)) transaction_status_ = *status;
      }
      input.consume(event.consumed);
      if (route.finished_internal && replies_.pending_ready() == 0 && !extended_pending_ && client_) {
        flush_to_client(to_client);
        client_->on_server_boundary();
      }
      continue;
    }
    OURO_TRACE(proxy_.log(), "server {} -> client: '{}' forward={} pending_ready={} queue={}", id_, frame.type,
               route.forward, replies_.pending_ready(), replies_.size());
    // A refused statement's stand-in failed: the client's error is the refusal.
    protocol::Frame seen = frame;
    if (route.refused) seen.body = ByteView(route.answers).subspan(5);
    bool forward = handle_relay_message(seen, raw, to_client) && route.forward;
    if (route.forward && client_ &&
        (frame.type == be::kCommandComplete || frame.type == be::kEmptyQueryResponse ||
         frame.type == be::kPortalSuspended))
      client_->statement_completed();
    if (forward && is_asynchronous(frame.type) && client_) {
      // After what came before it, but never held back with a statement's output.
      flush_to_client(to_client);
      client_->send_asynchronous(frame.type, raw);
    } else if (forward) {
      to_client.relay(raw);
    }
    input.consume(event.consumed);
    if (!route.answers.empty()) append(to_client.copied(), route.answers);
    for (auto id : route.not_prepared) prepared_.forget(id, false);
    for (auto id : route.found_prepared) prepared_.found(id, session::server_statement_name(id));
    if (client_ && (!route.names_not_prepared.empty() || !route.names_restored.empty()))
      client_->statements_not_prepared(route);
    for (auto id : route.not_closed) prepared_.queue_close({id, session::server_statement_name(id)});
    // A plan invalidated by DDL stays on the server under its name: close it, prepare anew.
    if (route.stale_statement != 0) prepared_.forget(route.stale_statement, true);
    if (route.finished_request) {
      // A pipelined request is timed from the answer before it: what the client waited for.
      TimePoint now = proxy_.loop().now();
      auto elapsed = now - request_start_;
      pool_.counters.queries.inc();
      pool_.counters.query_duration.observe(elapsed);
      pool_.counters.query_time_us.inc(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
      request_start_ = now;
      request_active_ = replies_.pending_ready() > 0;
      if (client_ && state_ == State::Linked) {
        // The request's output (its ReadyForQuery included) reaches the client session before
        // the session decides about it (a retry drops it).
        flush_to_client(to_client, true);
        client_->request_finished(std::chrono::duration_cast<std::chrono::microseconds>(elapsed));
      }
    }
    if (route.finished_request && replies_.pending_ready() == 0 && !extended_pending_ && client_) {
      // Everything the client asked for has been answered: the pooling decision (release in
      // transaction mode, shutdown, timers) belongs to the client session.
      cancel_reason_.clear();
      flush_to_client(to_client);
      client_->on_server_boundary();
    }
  }
  flush_to_client(to_client);
  // Backpressure: a slow client stops us reading this server until its queue drains.
  if (client_ && transport_ && client_->transport()->above_high_water()) transport_->stop_reading();
}

void ServerConnection::handle_login_message(const protocol::Frame& frame) {
  using namespace protocol;
  switch (frame.type) {
    case be::kAuthentication: {
      auto request = decode_authentication(frame.body);
      if (!request) return close("malformed authentication request");
      auto step = authenticator_->on_request(*request);
      if (step.kind == auth::AuthStep::Kind::Failure) {
        proxy_.log().error("server login to {}:{} as {} failed: {}", host_, port_, pool_.user, step.reason);
        return login_failed({"FATAL", std::string(sqlstate::kInvalidPassword),
                             "proxy could not log in to the database: " + step.reason, {}});
      }
      if (!step.out.empty()) transport_->write(std::move(step.out));
      return;
    }
    case be::kParameterStatus: {
      if (auto ps = decode_parameter_status(frame.body))
        parameter_status_[std::string(ps->name)] = std::string(ps->value);
      return;
    }
    case be::kBackendKeyData: {
      if (auto key = decode_backend_key_data(frame.body)) backend_key_ = *key;
      return;
    }
    case be::kErrorResponse: {
      OwnedError error;
      error.from_postgres = true;
      if (auto fields = decode_error_fields(frame.body)) {
        error.sqlstate = std::string(fields->sqlstate());
        error.message = std::string(fields->message());
        error.detail = std::string(fields->detail());
      }
      if (error.sqlstate.empty()) error.sqlstate = std::string(sqlstate::kConnectionFailure);
      // libpq's allow: plain text first, TLS when the server refuses it.
      if (pool_.db.tls.mode == config::ServerTlsMode::Allow && !tls_attempt_)
        return retry_with_tls(error.sqlstate + " " + error.message);
      return login_failed(std::move(error));
    }
    case be::kReadyForQuery: {
      connect_timer_.stop();
      connector_.reset();
      state_ = State::Idle;
      for (const auto& [name, value] : parameter_status_) baseline_[pool::lower_name(name)] = value;
      stream_ = MessageStream(FrameReader(kMaxWholeServerMessage), kRelayWholeTypes);
      proxy_.log().debug("server {}: logged in (backend pid {})", id_, backend_key_.pid);
      proxy_.server_ready(*this);
      return;
    }
    case be::kNoticeResponse:
    case be::kNegotiateProtocolVersion:
      return;  // nothing to act on
    default:
      return close("unexpected message during login");
  }
}

bool ServerConnection::handle_relay_message(const protocol::Frame& frame, ByteView raw, OutgoingBytes& to_client) {
  using namespace protocol;
  bool internal = state_ == State::Syncing || state_ == State::Resetting || state_ == State::ReadingBack;
  switch (frame.type) {
    case be::kParameterStatus:
      if (auto ps = decode_parameter_status(frame.body)) {
        parameter_status_[std::string(ps->name)] = std::string(ps->value);
        aligned_settings_ = 0;
        if (client_ && state_ == State::Linked) client_->parameter_changed(ps->name, ps->value);
      }
      return state_ == State::Linked;
    case be::kErrorResponse: {
      auto fields = decode_error_fields(frame.body);
      if (internal) {
        internal_failed_ = true;
        if (fields) {
          proxy_.log().warn("server {}: internal query failed: {} {}", id_, fields->sqlstate(),
                            proxy_.loggable_postgres_text(fields->message()));
          internal_error_ = OwnedError{"FATAL", std::string(fields->sqlstate()), std::string(fields->message()),
                                       std::string(fields->detail())};
        }
        return false;
      }
      if (fields) {
        pool_.counters.errors.inc(fields->sqlstate());
        if (client_ && state_ == State::Linked) client_->request_error(*fields);
      }
      if (fields && client_ && state_ == State::Linked &&
          (fields->severity() == "FATAL" || fields->severity() == "PANIC")) {
        // The server is about to go. The client hears PostgreSQL's own words when the proxy
        // learns that the connection closed (ClientConnection::server_lost), not before: output
        // held for a retry goes first, and a pooled client's session may outlive the server.
        fatal_message_ = std::string(fields->sqlstate()) + " " + std::string(fields->message());
        fatal_error_.assign(raw.begin(), raw.end());
        return false;
      }
      if (fields && !cancel_reason_.empty() && fields->sqlstate() == sqlstate::kQueryCanceled &&
          state_ == State::Linked) {
        // The proxy cancelled this query: say so instead of "due to user request".
        ErrorSpec spec;
        spec.severity = fields->severity().empty() ? std::string_view("ERROR") : fields->severity();
        spec.sqlstate = sqlstate::kQueryCanceled;
        spec.message = cancel_reason_;
        encode_error_response(to_client.copied(), spec);
        cancel_reason_.clear();
        return false;
      }
      return state_ == State::Linked;
    }
    case be::kCommandComplete: {
      auto tag = decode_command_complete(frame.body);
      // The row count is the tag's last word ("SELECT 5", "INSERT 0 3", "UPDATE 2").
      if (tag && client_ && state_ == State::Linked) {
        auto space = tag->rfind(' ');
        if (space != std::string_view::npos) {
          std::uint64_t rows = 0;
          bool digits = space + 1 < tag->size();
          for (char ch : tag->substr(space + 1)) {
            if (ch < '0' || ch > '9') { digits = false; break; }
            rows = rows * 10 + static_cast<std::uint64_t>(ch - '0');
          }
          if (digits) client_->request_rows(rows);
        }
      }
      if (internal) ++internal_completed_;
      // The client emptied the server's statement cache (or its whole session) itself.
      if (tag && (*tag == "DISCARD ALL" || *tag == "DEALLOCATE ALL")) {
        prepared_.clear();
        sql_statements_.clear();
        if (*tag == "DISCARD ALL") applied_.clear();
        aligned_settings_ = 0;
        if (client_ && state_ == State::Linked) client_->prepared_statements_discarded();
      }
      return state_ == State::Linked;
    }
    case be::kDataRow:
      if (state_ == State::ReadingBack) {
        auto row = decode_data_row(frame.body);
        if (row && row->size() == 2 && (*row)[0] && (*row)[1])
          read_back_.emplace_back(std::string(*(*row)[0]), std::string(*(*row)[1]));
        return false;
      }
      return state_ == State::Linked;
    case be::kReadyForQuery: {
      if (auto status = decode_ready_for_query(frame.body)) transaction_status_ = *status;
      if (internal) {
        if (--internal_replies_ <= 0) {
          finish_internal_query();
        } else {
          // The settings query before run_internal's batch: its outcome stands on its own.
          internal_query_ok_ = !internal_failed_ && transaction_status_ == 'I';
          internal_completed_ = 0;  // counted for the batch only
        }
        return false;
      }
      // Statement mode refuses transaction blocks: the client must not hear that one began.
      if (client_ && client_->mode() == config::PoolMode::Statement && transaction_status_ != 'I') return false;
      return state_ == State::Linked;
    }
    default:
      return state_ == State::Linked;
  }
}

void ServerConnection::finish_internal_query() {
  bool ok = !internal_failed_ && transaction_status_ == 'I';
  internal_failed_ = false;
  State was = state_;
  state_ = State::Idle;
  stream_.set_whole_types(kRelayWholeTypes);
  if (was == State::Syncing) {
    if (ok || internal_query_ok_) applied_ = std::move(pending_applied_);
    pending_applied_.clear();
    proxy_.server_synced(*this, ok);
  } else if (was == State::Resetting) {
    proxy_.server_released(*this, ok);
  } else if (was == State::ReadingBack) {
    for (const auto& [name, value] : read_back_)
      if (name != kAdvisoryLocksRow) applied_[pool::lower_name(name)] = value;
    aligned_settings_ = 0;
    auto values = std::move(read_back_);
    read_back_.clear();
    proxy_.settings_read_back(*this, ok, values);
  }
}

void ServerConnection::hide_replies() {
  // Every reply of a proxy-issued query is read (and dropped) whole, errors included.
  stream_.set_whole_types(all_types());
}

void ServerConnection::run_internal(const std::string& sql, pool::Settings applied,
                                    const std::vector<std::string>& batch) {
  internal_completed_ = 0;
  internal_query_ok_ = false;
  pending_applied_ = std::move(applied);
  Bytes out;
  int replies = 0;
  if (!sql.empty() || batch.empty()) {
    protocol::encode_query(out, sql);
    ++replies;
  }
  if (!batch.empty()) {
    // One extended-protocol request: an error skips the rest of it up to the Sync.
    for (const std::string& statement : batch) {
      protocol::encode_parse(out, "", statement, {});
      protocol::MessageWriter(out, protocol::frontend::kBind).cstring("").cstring("").int16(0).int16(0).int16(0).finish();
      protocol::MessageWriter(out, protocol::frontend::kExecute).cstring("").int32(0).finish();
    }
    protocol::encode_sync(out);
    ++replies;
  }
  start_internal(State::Syncing, std::move(out), replies);
}

void ServerConnection::start_internal(State state, Bytes messages, int replies) {
  state_ = state;
  internal_error_.reset();
  internal_replies_ = replies;
  hide_replies();
  transport_->write(std::move(messages));
  transport_->start_reading();
}

void ServerConnection::send_hidden_query(const std::string& sql) {
  session::Expectation e = session::expectation(session::Expectation::Kind::Query);
  e.fate = session::Expectation::Fate::Hide;
  e.internal = true;
  Bytes due;
  replies_.expect(std::move(e), due);
  if (!due.empty() && client_) client_->send_from_server(due);
  Bytes out;
  protocol::encode_query(out, sql);
  transport_->write(std::move(out));
}

void ServerConnection::read_back_settings(const std::set<std::string>& names, bool advisory_locks) {
  std::string sql;
  if (names.empty()) {
    // Only the advisory locks (below).
  } else if (names.count("*")) {
    sql = "SELECT name, pg_catalog.current_setting(name) FROM pg_catalog.pg_settings WHERE source = 'session'";
  } else {
    std::string list;
    for (const std::string& name : names) list += (list.empty() ? "" : ", ") + pool::quote_literal(name);
    sql = "SELECT n, pg_catalog.current_setting(n, true) FROM pg_catalog.unnest(ARRAY[" + list + "]::text[]) n";
  }
  if (advisory_locks) {
    sql += sql.empty() ? "" : " UNION ALL ";
    sql += "SELECT '" + std::string(kAdvisoryLocksRow) +
           "', pg_catalog.count(*)::text FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND "
           "pid = pg_catalog.pg_backend_pid() AND granted";
  }
  read_back_.clear();
  Bytes out;
  protocol::encode_query(out, sql);
  start_internal(State::ReadingBack, std::move(out), 1);
}

void ServerConnection::link(ClientConnection* client) {
  stream_.set_whole_types(kRelayWholeTypes);
  client_ = client;
  state_ = State::Linked;
  replies_.clear();
  forwarding_ = true;
  extended_pending_ = false;
  request_active_ = false;
  cancel_reason_.clear();
  transport_->start_reading();
}

void ServerConnection::unlink() {
  client_ = nullptr;
  if (state_ == State::Linked) state_ = State::Idle;
  transport_->start_reading();  // an idle server is always read: it may close or notify
}

void ServerConnection::unlink_and_reset(bool discard_session) {
  client_ = nullptr;
  if (state_ != State::Linked) return;
  // A server mid-request (or mid-COPY, or holding unsynced extended messages) cannot be cleaned
  // by a query; closing it is the only safe choice.
  if (request_in_flight()) {
    close("client left during a request");
    return;
  }
  Bytes out;
  internal_replies_ = 0;
  if (transaction_status_ != 'I') {
    protocol::encode_query(out, "ROLLBACK");
    ++internal_replies_;
  }
  if (listened_ && !discard_session) {
    protocol::encode_query(out, "UNLISTEN *");  // the next client must not hear this one's channels
    ++internal_replies_;
  }
  listened_ = false;
  if (discard_session) {
    protocol::encode_query(out, "DISCARD ALL");
    ++internal_replies_;
    applied_.clear();
    prepared_.clear();
    aligned_settings_ = 0;
  }
  if (internal_replies_ == 0) {
    state_ = State::Idle;
    transport_->start_reading();
    proxy_.server_released(*this, true);
    return;
  }
  state_ = State::Resetting;
  hide_replies();
  transport_->start_reading();
  transport_->write(std::move(out));
}

void ServerConnection::send_from_client(ByteView bytes, bool extended_pending) {
  extended_pending_ = extended_pending;
  if (!request_active_) {
    request_active_ = true;
    request_start_ = proxy_.loop().now();
  }
  transport_->send(bytes);
}

void ServerConnection::cancel_running_query(std::string reason) {
  if (state_ != State::Linked || !request_in_flight()) return;
  cancel_reason_ = std::move(reason);
  proxy_.log().info("server {}: cancelling the running query: {}", id_, cancel_reason_);
  proxy_.forward_cancel(*this);
}

void ServerConnection::on_drained() {
  if (client_) client_->resume_reading();
}

void ServerConnection::on_transport_closed(std::string_view reason) {
  if (state_ == State::Closed) return;
  Proxy::ServerCallbackScope callback(proxy_);
  if (state_ == State::LoggingIn && tls_step_ == TlsStep::Handshaking) return login_failed(tls_failure(reason));
  if (state_ == State::Connecting || state_ == State::LoggingIn) {
    login_failed({"FATAL", std::string(sqlstate::kConnectionFailure),
                  "server closed the connection during login: " + std::string(reason), {}});
    return;
  }
  close(reason);
}

void ServerConnection::close(std::string_view reason) {
  if (state_ == State::Closed) return;
  if (state_ == State::Connecting || state_ == State::LoggingIn) {
    login_failed({"FATAL", std::string(sqlstate::kConnectionFailure), std::string(reason), {}});
    return;
  }
  LostRequest lost{replies_.pending_ready(), !extended_pending_ && !stream_.mid_message(), transaction_status_,
                   state_ == State::Linked && forwarding_ && stream_.mid_message(), fatal_error_};
  state_ = State::Closed;
  std::string why(reason);
  if (!fatal_message_.empty()) why += " (" + fatal_message_ + ")";
  reason = why;
  proxy_.log().debug("server {} ({}:{}) closing: {}", id_, host_, port_, reason);
  if (transport_ && transport_->is_open()) {
    Bytes out;
    protocol::encode_terminate(out);
    transport_->write(std::move(out));
    transport_->close_after_flush();
  }
  ClientConnection* client = std::exchange(client_, nullptr);
  if (client) client->server_lost(reason, lost);
  proxy_.server_closed(*this);
}

}  // namespace ouroboros::proxy
