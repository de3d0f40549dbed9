// The client side of session state that cannot move to another server (transaction and
// statement mode): refusing it (session_state: refuse) and telling the client when the server it
// was pinned to is lost. The Proxy decides about keeping and cleaning servers (proxy_pinning.cpp).
#include "protocol/sqlstate.h"
#include "proxy/client_connection.h"
#include "proxy/errors.h"
#include "proxy/proxy.h"
#include "proxy/server_connection.h"

namespace ouroboros::proxy {

namespace {
namespace fe = protocol::frontend;

// Fails in PostgreSQL's parser, before anything runs; the server's log shows why.
constexpr std::string_view kRefusedStandIn =
    "ouroboros refused this statement (session_state: refuse)";
}  // namespace

std::optional<ClientConnection::SessionRefusal> ClientConnection::refuse_session_state(
    const ClientMessage& message) {
  if (!message.may_change) return std::nullopt;  // neither a Query nor a Parse that could pin
  if (!pool_ || pool_->db.pool.session_state != config::SessionStatePolicy::Refuse)
    return std::nullopt;
  const std::optional<std::string_view>& text = message.text;
  const std::optional<protocol::Parse>& parse = message.parse;
  const char type = message.type;
  if (!text) return std::nullopt;
  for (const sql::ClassifiedStatement& statement :
       proxy_.session_classifier().classify(*text).statements) {
    std::optional<std::string> refusal = session::SessionStateTracker::refusal(statement);
    if (!refusal) continue;
    SessionRefusal refused;
    if (type == fe::kQuery)
      protocol::encode_query(refused.message, kRefusedStandIn);
    else
      protocol::encode_parse(refused.message, parse->statement, kRefusedStandIn, {});
    refused.error = std::make_shared<const std::pair<std::string, std::string>>(
        std::move(*refusal),
        "The statement was not run: this pool has session_state: refuse. Use session_state: pin or "
        "session pool mode for this client, or state that ends with the transaction (ON COMMIT DROP, "
        "pg_advisory_xact_lock, a cursor without HOLD).");
    proxy_.log().debug("client {} ({}): refused (session_state: refuse): {}", id_, peer_,
                       refused.error->first);
    return refused;
  }
  return std::nullopt;
}

bool ClientConnection::advisory_lock_check_due() {
  const session::SessionStateTracker& tracker = session_state_->tracker();
  if (!tracker.advisory_locks_uncertain() || tracker.pin_reason() != session::PinReason::AdvisoryLock) return false;
  advisory_locks_checked_ = true;
  return true;
}

void ClientConnection::pinned_server_closed(std::string_view reason) {
  if (pinned_ != session::PinReason::None) pinned_server_lost(reason, LostRequest{});  // between transactions
}

void ClientConnection::pinned_server_lost(std::string_view reason, const LostRequest& lost) {
  const std::string what =
      session_state_ ? session_state_->tracker().describe_pinning_state() : std::string();
  proxy_.log().info("client {} ({}): unpinned: server {} was lost ({}); {} went with it", id_,
                    peer_, server_ ? server_->id() : 0, reason,
                    what.empty() ? "its session state" : what);
  pinned_ = session::PinReason::None;
  // A request in flight (or a transaction block) already hears of the loss from its error.
  if (lost.replies_expected == 0 && lost.transaction_status == 'I') {
    lost_answers().pin_lost("lost with it: " + (what.empty() ? std::string("the session state") : what) + " (" +
                            std::string(reason) + ")");
  }
}

}  // namespace ouroboros::proxy
