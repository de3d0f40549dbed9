// ClientConnection: SQL-level prepared statements in transaction and statement mode. A server
// linked to the client holds exactly the client's statements (session/sql_prepared_statements.h):
// the alignment runs in the same hidden query as the settings (Proxy::assign), and the server's
// record becomes the client's again when the client lets it go.
#include "proxy/client_connection.h"
#include "proxy/proxy.h"
#include "proxy/server_connection.h"

namespace ouroboros::proxy {

namespace fe = protocol::frontend;
using protocol::ErrorSpec;

bool ClientConnection::has_sql_statement(const std::string& name) const {
  return session_state_ && session_state_->sql_statements().contains(name);
}

std::vector<std::string> ClientConnection::sql_statements_sync(ServerConnection& server) {
  static const session::SqlStatementMap kNone;
  const session::ClientSqlStatements* own =
      session_state_ ? &session_state_->sql_statements() : nullptr;
  if ((!own || own->statements().empty()) &&
      server.sql_statements().sync_without_statements(id_, own ? own->version() : 0))
    return {};
  // After the settings part of the query the server has the client's search_path.
  std::optional<std::string> search_path;
  if (session_state_) search_path = session_state_->settings().value("search_path");
  std::vector<std::string> sql = server.sql_statements().begin_sync(
      id_, own ? own->version() : 0, own ? own->statements() : kNone, search_path);
  if (!sql.empty())
    proxy_.log().debug("client {}: server {} gets the client's SQL-level prepared statements", id_,
                       server.id());
  return sql;
}

void ClientConnection::settle_sql_statements(ServerConnection& server) {
  // Without a session state the client ran no PREPARE: the server holds what it had at the link.
  if (session_state_) server.sql_statements().now_holds(id_, session_state_->sql_statements());
}

void ClientConnection::sql_statement_not_recreated(const std::string& name,
                                                   const ErrorSpec& error) {
  if (session_state_) session_state_->sql_statements().forget(name);
  proxy_.log().info(
      "client {}: SQL-level prepared statement \"{}\" could not be prepared again on another "
      "server: {} {}",
      id_, name, error.sqlstate, error.message);
  if (state() != State::WaitingForServer) return;
  const std::string detail =
      "Prepared statement \"" + name +
      "\" of this session had to be prepared again on another server connection (transaction "
      "pooling) and PostgreSQL refused it; it no longer exists, and this request did not run." +
      (error.detail.empty() ? "" : " " + std::string(error.detail));
  ErrorSpec answer = error;
  answer.severity = "ERROR";
  answer.detail = detail;
  answer.hint = "PREPARE the statement again.";
  if (answer_first_waiting_request(answer)) {
    if (!transport_->input().empty()) return proxy_.request_server(*this);  // the rest waits again
    session_.waiting_request_answered();
    arm_timer();
    transport_->start_reading();
    return;
  }
  // The request has not fully arrived: it runs without the statement, and the client is told.
  answer.severity = "WARNING";
  Bytes out;
  protocol::encode_notice_response(out, answer);
  transport_->write(std::move(out));
  proxy_.request_server(*this);
}

bool ClientConnection::answer_first_waiting_request(const ErrorSpec& error) {
  io::InputBuffer& input = transport_->input();
  auto answers = session::answer_waiting_requests(input.view(), error, session::WaitingScope::FirstRequest,
                                                  proxy_.config().limits.max_message_size);
  if (!answers) return false;
  input.consume(answers->used);
  transport_->write(std::move(answers->out));
  return true;
}

}  // namespace ouroboros::proxy
