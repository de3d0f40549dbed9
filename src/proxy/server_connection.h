#pragma once
// One connection to PostgreSQL: connect, log in, then either sit idle in its pool or relay for
// the client it is linked to. It tracks what the proxy must know to reuse it safely: the
// transaction status from ReadyForQuery and how many replies are still outstanding.
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/backend_authenticator.h"
#include "common/clock.h"
#include "common/outgoing_bytes.h"
#include "io/tcp_connector.h"
#include "io/timer.h"
#include "io/transport.h"
#include "pool/server_pool.h"
#include "pool/startup_parameters.h"
#include "protocol/message_stream.h"
#include "protocol/messages.h"
#include "session/reply_queue.h"
#include "session/server_statements.h"
#include "session/sql_prepared_statements.h"

namespace ouroboros::proxy {

class Proxy;
class ClientConnection;
class PoolListener;
struct PoolEntry;

// An error to hand to clients, owning its text.
struct OwnedError {
  std::string severity = "FATAL";
  std::string sqlstate;
  std::string message;
  std::string detail;
  // A failure retrying will not fix (a certificate the proxy does not trust): waiting clients get
  // it at once instead of after query_wait_timeout.
  bool permanent = false;
  // PostgreSQL's own ErrorResponse (whose text may quote what a client sent), not the proxy's.
  bool from_postgres = false;
  protocol::ErrorSpec spec() const {
    protocol::ErrorSpec s;
    s.severity = severity;
    s.sqlstate = sqlstate;
    s.message = message;
    s.detail = detail;
    return s;
  }
};

// What a client needs to know when its server is lost under it.
struct LostRequest {
  int replies_expected = 0;  // ReadyForQuery messages the client still waits for
  bool recoverable = false;  // the client can be told with an error and carry on
  char transaction_status = 'I';  // as the client last saw it
  bool cut_mid_message = false;   // the client got part of a message whose rest never comes
  // PostgreSQL's own ErrorResponse (FATAL or PANIC, the whole message) sent before it closed;
  // empty when the server vanished without one.
  ByteView fatal_error;
};

class ServerConnection final : public io::TransportHandler {
 public:
  enum class State { Connecting, LoggingIn, Idle, Syncing, Linked, ReadingBack, Resetting, Closed };

  ServerConnection(Proxy& proxy, PoolEntry& pool, pool::ServerId id, pool::StartupParameters parameters);
  ~ServerConnection() override;

  void start(auth::BackendCredentials credentials);
  pool::ServerId id() const { return id_; }
  PoolEntry& pool_entry() { return pool_; }
  State state() const { return state_; }
  const pool::StartupParameters& startup_parameters() const { return startup_parameters_; }
  const std::map<std::string, std::string>& parameter_status() const { return parameter_status_; }
  // What the server reported plus what the proxy set on it, by lower-case name.
  pool::Settings current_settings() const;
  const pool::Settings& applied_settings() const { return applied_; }
  // The settings hash (ClientConnection::settings_hash) of the client whose settings this server
  // has, as far as the proxy knows; 0 when unknown. Reset by anything that changes them.
  std::uint64_t aligned_settings() const { return aligned_settings_; }
  void mark_aligned(std::uint64_t settings_hash) { aligned_settings_ = settings_hash; }
  // The linked client's own statements changed the session's settings: `applied` is what the
  // server now has that it does not report, `aligned` the settings hash of the client it now
  // matches (0 when it matches none).
  void settings_changed_by_client(pool::Settings applied, std::uint64_t aligned) {
    applied_ = std::move(applied);
    aligned_settings_ = aligned;
  }
  // The error of the last failed internal query (a client's setting PostgreSQL rejected).
  const std::optional<OwnedError>& internal_error() const { return internal_error_; }
  // What the server reported at login, before any client: PostgreSQL's defaults for this role
  // and database, by lower-case name.
  const pool::Settings& baseline_settings() const { return baseline_; }
  protocol::BackendKeyData backend_key() const { return backend_key_; }
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  char transaction_status() const { return transaction_status_; }
  // A request whose replies have not all come back (or extended messages without a Sync).
  bool request_in_flight() const { return replies_.pending_ready() > 0 || extended_pending_; }
  // What the server still owes the linked client, in order; and its prepared statements.
  session::ReplyQueue& replies() { return replies_; }
  session::ServerStatements& prepared() { return prepared_; }

  // The SQL-level prepared statements this server holds (transaction and statement mode).
  session::ServerSqlStatements& sql_statements() { return sql_statements_; }
  // Statements of the last internal request that completed (CommandComplete).
  std::size_t internal_completed() const { return internal_completed_; }

  // Runs `sql` hiding every reply, then calls Proxy::server_synced. `applied` is what the proxy
  // set on the server once it succeeds (settings the server does not report itself). `batch`:
  // statements to run after it as one extended-protocol request (each PREPARE then shows its own
  // text in pg_prepared_statements); with a batch, an empty `sql` is not sent.
  void run_internal(const std::string& sql, pool::Settings applied, const std::vector<std::string>& batch = {});
  // The linked client changed settings to values the proxy could not read from its statements
  // (set_config() with computed arguments): reads the current values of `names` ("*": every
  // setting the session set) with a hidden query, records them as applied on this server, and
  // calls Proxy::settings_read_back. The client stays linked, not reading, meanwhile.
  // `advisory_locks`: the same query also counts the advisory locks the session holds, as one
  // more row named kAdvisoryLocksRow (no setting's name starts with a space).
  void read_back_settings(const std::set<std::string>& names, bool advisory_locks = false);
  static constexpr std::string_view kAdvisoryLocksRow = " advisory locks";
  // While linked: sends `sql` after the client's messages so far; every reply is hidden and it
  // ends no client request (ReplyQueue's internal Query).
  void send_hidden_query(const std::string& sql);
  void link(ClientConnection* client);
  // The transaction ended cleanly: the client lets go, the server stays open.
  void unlink();
  // The linked client is gone. `discard_session`: session mode (DISCARD ALL after ROLLBACK).
  // Goes back to the pool clean, or closes when it cannot be cleaned.
  void unlink_and_reset(bool discard_session);
  // Relay: bytes from the client (already rewritten, their replies expected in replies()).
  void send_from_client(ByteView bytes, bool extended_pending);
  // query_timeout: cancel the running query and tell the client why in the error it gets.
  void cancel_running_query(std::string reason);
  io::Transport* transport() { return transport_.get(); }
  // What TLS the connection to PostgreSQL uses; nullopt for plain text (or not connected yet).
  std::optional<io::TlsInfo> tls_info() const {
    return transport_ ? transport_->tls_info() : std::nullopt;
  }
  // Closes the connection (Terminate first when logged in) and tells the proxy.
  void close(std::string_view reason);

  TimePoint created() const { return created_; }
  // A cancel request was sent for this server's backend. PostgreSQL delivers it twice (to the
  // backend and to its process group, from a process of its own that may run late on a busy
  // machine), so a second signal could hit the next statement. The server goes to its next
  // request only once PostgreSQL has closed the cancel connection (both signals sent:
  // cancel_in_flight() false), and that turn starts with a probe query that absorbs a signal
  // still pending.
  bool cancel_sent() const { return cancel_sent_; }
  bool cancel_in_flight() const { return cancels_in_flight_ > 0; }
  void mark_cancel_sent() {
    cancel_sent_ = true;
    ++cancels_in_flight_;
  }
  void cancel_delivered() {
    if (cancels_in_flight_ > 0) --cancels_in_flight_;
  }
  void clear_cancel_sent() { cancel_sent_ = false; }
  std::chrono::system_clock::time_point connected_at() const { return connected_at_; }
  ClientConnection* client() const { return client_; }
  // The pool's listening connection (PoolListener) gets the notifications this server receives
  // while idle; it is never lent to a client.
  void set_listener(PoolListener* listener) { listener_ = listener; }
  PoolListener* listener() const { return listener_; }
  // A client ran LISTEN here (transaction mode): the server is cleaned with UNLISTEN * before
  // another client gets it (unlink_and_reset).
  void mark_listened() { listened_ = true; }
  bool listened() const { return listened_; }

  // TransportHandler
  void on_readable(io::InputBuffer& input) override;
  void on_drained() override;
  void on_transport_closed(std::string_view reason) override;

 private:
  void login_failed(OwnedError error);
  // Opens the TCP connection; `tls_attempt_` says whether it starts with an SSLRequest.
  void connect();
  void on_connected(std::unique_ptr<io::TcpTransport> transport);
  // TLS towards PostgreSQL (databases.<name>.tls): the one-byte answer to the SSLRequest.
  void answer_to_ssl_request(io::InputBuffer& input);
  void start_tls();
  // tls.mode allow: the plain-text login was refused; try again over TLS.
  void retry_with_tls(std::string_view why);
  OwnedError tls_failure(std::string_view what) const;
  void handle_login_message(const protocol::Frame& frame);
  // Returns whether the raw message goes to the client; sets `boundary` when the last
  // outstanding reply arrived.
  bool handle_relay_message(const protocol::Frame& frame, ByteView raw, OutgoingBytes& to_client);
  void finish_internal_query();
  void flush_to_client(OutgoingBytes& to_client, bool whole_request = false);
  void hide_replies();
  // Sends the proxy's own `messages` (their `replies` ReadyForQuery messages hidden) in `state`.
  void start_internal(State state, Bytes messages, int replies);

  Proxy& proxy_;
  PoolEntry& pool_;
  pool::ServerId id_;
  State state_ = State::Connecting;
  std::string host_;
  std::uint16_t port_ = 0;
  TimePoint created_;
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();
  pool::StartupParameters startup_parameters_;
  std::unique_ptr<io::TcpConnector> connector_;
  std::unique_ptr<io::Transport> transport_;
  io::Timer connect_timer_;
  std::optional<auth::BackendAuthenticator> authenticator_;
  auth::BackendCredentials credentials_;  // kept for a second attempt (tls.mode allow)
  Bytes startup_message_;                 // sent once TLS is settled
  enum class TlsStep { Off, AwaitingAnswer, Handshaking, Done };
  TlsStep tls_step_ = TlsStep::Off;
  bool tls_attempt_ = false;  // this connection attempt asks for TLS
  protocol::MessageStream stream_;
  std::map<std::string, std::string> parameter_status_;
  pool::Settings baseline_;
  pool::Settings applied_;          // settings the proxy SET that the server does not report
  pool::Settings pending_applied_;
  std::vector<std::pair<std::string, std::string>> read_back_;  // name, value rows of a read-back  // becomes applied_ when the running internal query succeeds
  std::uint64_t aligned_settings_ = 0;
  protocol::BackendKeyData backend_key_;
  ClientConnection* client_ = nullptr;
  char transaction_status_ = 'I';
  session::ReplyQueue replies_;    // replies owed to the linked client
  session::Route route_;           // the verdict on the latest message (its buffers reused)
  session::ServerStatements prepared_;
  session::ServerSqlStatements sql_statements_;
  std::size_t internal_completed_ = 0;
  bool internal_query_ok_ = false;  // the settings query before a batch succeeded (the batch may not)
  bool forwarding_ = true;         // the pass-through message being streamed goes to the client
  bool extended_pending_ = false;  // extended-protocol messages sent without a Sync after them
  int internal_replies_ = 0;       // ReadyForQuery of proxy-issued queries still to come
  bool internal_failed_ = false;
  std::string cancel_reason_;      // set when the proxy cancelled the running query
  std::string fatal_message_;      // "SQLSTATE message" of fatal_error_, for the log
  Bytes fatal_error_;              // PostgreSQL's FATAL/PANIC to a linked client, passed on at close
  std::optional<OwnedError> internal_error_;  // what PostgreSQL said when a proxy-issued query failed
  TimePoint request_start_{};     // when the oldest unanswered request (or the last answer) came
  bool request_active_ = false;
  bool cancel_sent_ = false;      // a cancel was forwarded to this backend (see cancel_sent())
  int cancels_in_flight_ = 0;     // CancelRequests whose connection PostgreSQL has not closed yet
  PoolListener* listener_ = nullptr;
  bool listened_ = false;
};

}  // namespace ouroboros::proxy
