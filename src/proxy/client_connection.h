#pragma once
// One client: startup packet, authentication, then relaying its messages to a server. In session
// mode the server is its own until it leaves; in transaction (statement) mode a server is linked
// for one transaction (statement) and handed back at the boundary. Every failure ends in an
// ErrorResponse with a SQLSTATE.
#include <deque>
#include <map>
#include <vector>
#include <memory>
#include <unordered_map>
#include <optional>
#include <string>

#include "admin/admin_console.h"
#include "auth/client_authenticator.h"
#include "common/clock.h"
#include "common/fifo.h"
#include "config/config.h"
#include "io/timer.h"
#include "io/transport.h"
#include "pool/cancel_registry.h"
#include "pool/server_pool.h"
#include "pool/backoff.h"
#include "pool/startup_parameters.h"
#include "proxy/query_log.h"
#include "proxy/user_lookup.h"
#include "protocol/frame_reader.h"
#include "protocol/message_stream.h"
#include "protocol/messages.h"
#include "session/client_session.h"
#include "session/client_session_state.h"
#include "session/lost_server_answers.h"
#include "session/request_tracker.h"
#include "session/startup_negotiation.h"
#include "session/statement_retry.h"
#include "session/waiting_requests.h"
#include "session/statement_rewriter.h"
#include "session/transaction_boundary.h"
#include "sql/query_shape.h"

namespace ouroboros::proxy {

class Proxy;
class ServerConnection;
struct PoolEntry;
struct LostRequest;

class ClientConnection final : public io::TransportHandler {
 public:
  // Startup -> Authenticating -> Idle / WaitingForServer -> Linked ..., Admin, Closed: decided by
  // session::ClientSession (client_session.h), which this connection acts for.
  using State = session::ClientState;

  ClientConnection(Proxy& proxy, pool::ClientId id, std::unique_ptr<io::Transport> transport, bool over_limit);
  ~ClientConnection() override;

  void start();
  pool::ClientId id() const { return id_; }
  State state() const { return session_.state(); }
  const std::string& user() const { return user_; }
  const std::string& database() const { return database_; }
  const pool::StartupParameters& parameters() const { return *parameters_; }
  // The settings this client expects on any server it is given (transaction mode).
  const pool::Settings& desired_settings() const { return *desired_; }
  void set_desired_settings(pool::Settings settings);
  // A hash of desired_settings(): equal settings, equal hash (never 0). A server aligned to a
  // client with the same hash needs no parameter sync (ServerConnection::aligned_settings).
  std::uint64_t settings_hash() const { return settings_hash_; }
  const std::optional<protocol::ScramClientKeys>& scram_keys() const;
  ServerConnection* server() { return server_; }
  io::Transport* transport() { return transport_.get(); }
  const std::string& peer() const { return peer_; }
  std::string application_name() const;
  std::chrono::system_clock::time_point connected_at() const { return connected_at_; }
  std::chrono::system_clock::time_point request_at() const { return request_at_; }
  TimePoint wait_started() const { return wait_start_; }
  config::PoolMode mode() const { return mode_; }
  PoolEntry* pool_entry() { return pool_; }
  bool logged_in() const { return session_.logged_in(); }
  // A transaction is open or a request is running: graceful shutdown waits for it.
  bool busy() const;

  // Proxy decisions.
  void set_pool(PoolEntry* pool, config::PoolMode mode) {
    pool_ = pool;
    mode_ = mode;
    session_.set_mode(mode != config::PoolMode::Session, mode == config::PoolMode::Statement);
  }
  void wait_for_server();
  // Completes the login without a server: `parameters` are the ParameterStatus values the pool's
  // servers reported (with the client's own settings in), the backend pid is the proxy's own.
  // A server is requested at the client's first request.
  void login_without_server(const std::vector<std::pair<std::string, std::string>>& parameters);
  // A cancel request while the client's request waits for a server: the request is answered as
  // a cancelled statement (57014) without running. Ignored unless the buffered input holds only
  // whole requests.
  void cancel_waiting_request();
  // A transaction-mode server was aligned to this client: reported settings PostgreSQL spells
  // differently than the client did ("ISO" -> "ISO, MDY") are adopted and reported to the client.
  void adopt_reported_settings(const std::map<std::string, std::string>& reported);
  // auth_query answered for this client (a user not in auth.users): authentication starts.
  void user_looked_up(const UserLookupResult& result);
  // The secret auth_query found for this client's user, for the server login.
  const std::string* looked_up_secret() const { return looked_up_secret_.get(); }
  // The admin console session: `may_modify` for admin.users, false for stats_users.
  void start_admin(bool may_modify);
  void link(ServerConnection* server);
  // Transaction mode: the server went back to the pool.
  void unlinked();
  // Sends a FATAL error and closes.
  void fail(const protocol::ErrorSpec& error);
  // The linked server died or was closed under the client.
  void server_lost(std::string_view reason, const LostRequest& lost);
  // Graceful shutdown: close now if idle, else at the end of the running transaction.
  void request_shutdown();

  // From the linked server: what the oldest unanswered request produced.
  void request_error(const protocol::ErrorFields& fields);
  void request_rows(std::uint64_t rows);
  void request_finished(std::chrono::microseconds elapsed);
  // The server started COPY: output held for a possible retry goes to the client now.
  void copy_started() {
    if (retry_.holding()) retry_release_held();
  }
  // `whole_request`: the bytes are the oldest request's output up to its ReadyForQuery.
  void send_from_server(ByteView bytes, bool whole_request = false);
  // A NoticeResponse, ParameterStatus or NotificationResponse: sent at once, even while the
  // statement's other output is held for a retry; a re-run does not repeat its notices.
  void send_asynchronous(char type, ByteView message);
  void parameter_changed(std::string_view name, std::string_view value);
  // DEALLOCATE ALL / DISCARD ALL ran: the client's statement names are gone.
  void prepared_statements_discarded() { statements_.clear(); }
  // The server rejected or skipped some of the client's named Parses: those names do not exist.
  void statements_not_prepared(const session::Route& route) {
    session::StatementRewriter::forget_names(route, statements_);
  }
  // The server answered everything the client sent (ReadyForQuery with nothing outstanding): acts
  // on session::decide_at_boundary (count the transaction, release or keep the server, shutdown).
  void on_server_boundary();
  // From the linked server: one of the client's statements ended (CommandComplete,
  // EmptyQueryResponse, PortalSuspended).
  void statement_completed() {
    if (session_state_) session_state_->statement_completed();
  }
  // Transaction/statement mode, before the linked server leaves the client (back to the pool, or
  // the client is gone): what the client's statements did to the server's session becomes the
  // proxy's record of that server, and the client's settings what any server must have for it.
  void settle_session_changes(ServerConnection& server);
  // Settings the client changed to values its statements did not tell (read them back first).
  bool settings_unknown() const {
    return session_state_ && !session_state_->settings().pending_readback().empty();
  }
  // The values of a read-back (ServerConnection::read_back_settings), the advisory lock count
  // included when it was asked for.
  void settings_read_back(const std::vector<std::pair<std::string, std::string>>& values);
  // At a transaction end (client_pinning.cpp): true, once per transaction, when advisory locks
  // are what pins the client and one counted may not be held (a pg_try_advisory_lock() that
  // returned false, a key not a constant); the server is asked then (Proxy::release_server).
  bool take_advisory_lock_check() {
    return session_state_ && !advisory_locks_checked_ && advisory_lock_check_due();
  }
  void pause_reading() { transport_->stop_reading(); }
  // What the client's statements did to its session; null until one may have changed it.
  const session::ClientSessionState* session_state() const { return session_state_.get(); }
  // Transaction/statement mode: why the client keeps its server between transactions (state
  // that cannot move to another server), PinReason::None when it does not. Set by the Proxy at
  // each transaction end (proxy_pinning.cpp).
  session::PinReason pinned() const { return pinned_; }
  void set_pinned(session::PinReason reason) { pinned_ = reason; }
  // The proxy closes the server this client is pinned to (reading back its session state
  // failed): as when the server is lost, the client hears at its next request what went with it.
  void pinned_server_closed(std::string_view reason);
  // SQL-level prepared statements (client_sql_statements.cpp). Transaction/statement mode, at
  // link: the statements that make `server` hold exactly this client's, to run after its
  // settings are applied (none when it holds them already).
  std::vector<std::string> sql_statements_sync(ServerConnection& server);
  // PostgreSQL refused to prepare the client's statement `name` again on the server it got (a
  // table dropped since): the statement is gone, and the client's waiting request is answered
  // with PostgreSQL's error without running.
  void sql_statement_not_recreated(const std::string& name, const protocol::ErrorSpec& error);
  void resume_reading();
  // Reads again and handles what arrived meanwhile, outside a read callback (as if it had just
  // arrived); the input's read block goes back to the loop once it is empty.
  void read_buffered_input();
  // Transaction/statement mode: a notification from the pool's listening connection on a
  // channel this client listens to. Sent at once when the client waits for input with no
  // server; otherwise queued and sent after the ReadyForQuery that ends its transaction, as
  // PostgreSQL delivers them between transactions (client_listen.cpp).
  void deliver_notification(std::string_view channel, ByteView message);
  // The pool's listening connection registered the channels this client's held LISTEN named.
  void listener_ready();

  // TransportHandler
  void on_readable(io::InputBuffer& input) override;
  void on_drained() override;
  void on_transport_closed(std::string_view reason) override;

 private:
  void handle_startup(io::InputBuffer& input);
  void handle_auth(io::InputBuffer& input);
  void handle_admin(io::InputBuffer& input);
  void relay(io::InputBuffer& input);
  // The StartupMessage (session::next_startup_step let it through): host-based rules, then
  // authentication or the auth_query lookup.
  void on_startup_packet(const protocol::StartupPacket& packet);
  // After an SSLRequest answered 'S' (`direct` false) or a PostgreSQL 17 direct TLS handshake:
  // the transport becomes a TlsTransport over the TCP one.
  void start_tls(bool direct);
  void authenticated();
  void finish_login(ServerConnection& server);
  void send_login_reply(const std::vector<std::pair<std::string, std::string>>& parameters,
                        std::optional<std::int32_t> backend_pid);
  void arm_timer();
  // Statement mode: a transaction block slipped through (session::BoundaryDecision).
  void refuse_transaction_block();
  void close();
  // After the server was lost under an open transaction or a pin: answers the client's messages
  // as session::LostServerAnswers says, as long as it does. False when the client is gone.
  bool answer_after_loss(io::InputBuffer& input);
  // A Query the proxy handles itself or refuses before any server sees it; true when handled.
  bool intercept_query(std::string_view sql, Bytes& to_client);

  Proxy& proxy_;
  pool::ClientId id_;
  std::unique_ptr<io::Transport> transport_;
  bool over_limit_;
  std::string peer_;
  session::ClientSession session_;  // the state machine: what each event does next
  // Login, idle, idle-in-transaction and query timeouts; none after login when no timeout is set.
  std::unique_ptr<io::Timer> timer_;
  void start_timer(Duration after, std::function<void()> fn);
  // A timeout that ends the session with FATAL `code` naming `setting` (none when `limit` is 0).
  void start_ending_timer(Duration limit, std::string_view code, std::string_view setting);
  void stop_timer();
  protocol::FrameReader reader_;
  protocol::MessageStream stream_;
  std::string user_;
  std::string database_;
  // Shared with the loop's other clients that sent the same (most clients of an application do).
  std::shared_ptr<const pool::StartupParameters> parameters_;
  // Shared with every client of this loop that expects the same (pool::SettingsInterner).
  std::shared_ptr<const pool::Settings> desired_;
  std::uint64_t settings_hash_ = 0;
  std::unique_ptr<auth::ClientAuthenticator> authenticator_;  // only until the login completes
  config::AuthType auth_type_ = config::AuthType::ScramSha256;  // auth.type, or the hba line's method
  std::unique_ptr<const std::string> looked_up_secret_;  // only auth_query users have one
  void start_authentication(std::shared_ptr<const config::UserConfig> user,
                            std::optional<protocol::ScramVerifier> verifier, std::string unknown_reason);
  PoolEntry* pool_ = nullptr;
  config::PoolMode mode_ = config::PoolMode::Session;
  ServerConnection* server_ = nullptr;
  std::optional<pool::CancelKey> cancel_key_;
  bool extended_pending_ = false;
  session::ClientStatements statements_;  // protocol-level statement names (transaction mode)
  // The server was lost under an open transaction or a pin (rare: made then, gone once answered).
  std::unique_ptr<session::LostServerAnswers> lost_;
  session::LostServerAnswers& lost_answers() {
    if (!lost_) lost_ = std::make_unique<session::LostServerAnswers>();
    return *lost_;
  }
  // One client message as relay_bytes reads it: decoded once and looked at once, then passed to
  // each step that needs it.
  struct ClientMessage {
    char type = 0;
    ByteView body;                           // without the type byte and length
    ByteView raw;                            // the whole message
    std::optional<protocol::Parse> parse;    // a Parse's fields
    std::optional<protocol::BindNames> bind;  // a Bind's portal and statement names
    std::optional<std::string_view> text;    // the SQL of a Query or Parse (none if malformed)
    sql::QueryShape shape;                   // of `text`: statistics key and statement count
    bool may_change = false;                 // transaction mode: `text` may change session state
  };
  // Transaction/statement mode: follows what the client's messages do to its session.
  void track_session_message(const ClientMessage& message);
  session::ClientSessionState& make_session_state();
  // After a RESET, RESET ALL or DISCARD ALL: the server went back to its defaults, the client
  // expects its start-up values; a hidden set_config() on the linked server puts them back.
  void restore_start_up_settings();
  // ---- state that cannot move (client_pinning.cpp) ----
  // session_state: refuse. A Query or Parse whose text would pin the client is not sent: a
  // stand-in that fails at parse time goes instead (so the server aborts the statement, skips to
  // Sync or fails the transaction block exactly as for the refused statement), and the client
  // hears the 0A000 refusal in place of the stand-in's error.
  struct SessionRefusal {
    Bytes message;  // the stand-in, a whole message
    std::shared_ptr<const std::pair<std::string, std::string>> error;  // message, detail
    ByteView body() const { return ByteView(message).subspan(5); }
  };
  std::optional<SessionRefusal> refuse_session_state(const ClientMessage& message);
  // The server the client was pinned to is gone, and its session state with it. When the loss
  // answered nothing, the client's next request is answered with an error saying so.
  void pinned_server_lost(std::string_view reason, const LostRequest& lost);
  session::PinReason pinned_ = session::PinReason::None;
  bool advisory_locks_checked_ = false;  // in this transaction's end (reset as the next begins)
  bool advisory_lock_check_due();
  // The client has a SQL-level prepared statement of that name (its DEALLOCATE goes to the server).
  bool has_sql_statement(const std::string& name) const;
  // The server the client leaves now holds exactly the client's SQL-level statements.
  void settle_sql_statements(ServerConnection& server);
  // Answers the first whole request waiting in the input with `error` (as if it failed on a
  // server, nothing of it run); false when the input holds no whole request yet.
  bool answer_first_waiting_request(const protocol::ErrorSpec& error);
  // Relays complete client messages from `data`; returns the bytes used. `input_consumed`
  // says how much of an InputBuffer they were (the caller consumes it).
  std::size_t relay_bytes(ByteView data);

  // Automatic retry of one autocommit statement (session::StatementRetry holds its messages and
  // output; these feed it and act on what it says).
  void retry_start_if_possible();
  void retry_track(const ClientMessage& message);
  void retry_release_held();
  void retry_reset();
  void retry_clear();  // retry_ = {}, its buffers back to the loop's scratch pool
  bool retry_decide(const session::TrackedRequest& request, std::chrono::microseconds elapsed);
  void retry_run_again();
  session::StatementRetry retry_;
  std::unique_ptr<admin::AdminConsole> admin_;
  bool admin_batch_failed_ = false;
  bool answered_alone_ = false;
  // An extended-protocol "DEALLOCATE name" of a protocol statement (psycopg evicts its cache so):
  // the proxy answers its Parse/Bind/Describe/Execute itself; the name to drop at its Execute.
  std::unique_ptr<std::string> deallocating_;
  bool answer_deallocate_batch(const ClientMessage& message, Bytes& to_client);  // relay_bytes answered a request without the server
  std::unique_ptr<io::Timer> retry_timer_;  // made at the first retry: most clients never need it
  session::RequestTracker requests_;  // for the query log, query stats and retries
  std::unique_ptr<session::ClientSessionState> session_state_;
  // LISTEN in transaction/statement mode (client_listen.cpp). A Query or Parse with a LISTEN
  // goes to the server only once the pool's listening connection listens to its channels, so
  // every notification committed after the client's LISTEN reaches the client; false: hold it.
  bool listen_registered_first(const ClientMessage& message);
  // The client's transaction ended (its server went back, or was lost): its committed channels
  // go to the listening connection, and the notifications it may hear now are sent.
  void settle_listen();
  void stop_listening();  // the client is gone
  struct QueuedNotification {
    std::string channel;
    Bytes message;
  };
  std::vector<QueuedNotification> queued_notifications_;
  bool listened_on_server_ = false;  // a LISTEN went to the linked server: it needs UNLISTEN *
  std::uint32_t batch_executes_ = 0;  // Executes since the last Sync (for a state made mid-batch)
  TimePoint transaction_start_{};
  TimePoint wait_start_{};
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();
  std::chrono::system_clock::time_point request_at_{};
};

}  // namespace ouroboros::proxy
