// Pinning in transaction and statement mode: a client whose session holds state that cannot move
// to another server (temporary tables, session advisory locks, WITH HOLD cursors, LOAD) keeps its
// server between transactions, as in session mode, until that state is gone; a server it leaves
// behind is cleaned before anyone else gets it.
#include "proxy/client_connection.h"
#include "proxy/proxy.h"

namespace ouroboros::proxy {

bool Proxy::keep_pinned(ClientConnection& client, ServerConnection& server) {
  const session::ClientSessionState* state = client.session_state();
  session::PinReason reason = state ? state->tracker().pin_reason() : session::PinReason::None;
  session::PinReason was = client.pinned();
  if (reason != session::PinReason::None) {
    // What the transaction did to the settings is recorded now, as at a release.
    client.settle_session_changes(server);
    if (was == session::PinReason::None)
      log_.info(
          "client {} ({}): pinned to server {} (backend pid {}): {}; the server stays with the "
          "client "
          "until that is gone",
          client.id(), client.peer(), server.id(), server.backend_key().pid,
          state->tracker().describe_pinning_state());
    client.set_pinned(reason);
    return true;
  }
  if (was != session::PinReason::None) {
    log_.info(
        "client {} ({}): unpinned from server {} (backend pid {}): its {} is gone; the server "
        "returns to "
        "the pool",
        client.id(), client.peer(), server.id(), server.backend_key().pid,
        session::pin_reason_text(was));
    client.set_pinned(session::PinReason::None);
  }
  return false;
}

bool Proxy::reset_pinned_server(ClientConnection& client, ServerConnection& server) {
  if (client.mode() == config::PoolMode::Session) return false;
  const session::ClientSessionState* state = client.session_state();
  // Includes state made in a transaction still open: ROLLBACK drops a new temporary table, but
  // not a session advisory lock.
  bool pinning = state && state->tracker().pinned();
  session::PinReason was = client.pinned();
  client.set_pinned(session::PinReason::None);
  if (!pinning) return false;
  std::string what = state->tracker().describe_pinning_state();
  if (state->tracker().loaded()) {
    // Nothing unloads a library: the server goes.
    log_.info(
        "client {} ({}){} left with {}: server {} is closed (a loaded library cannot be unloaded)",
        client.id(), client.peer(), was != session::PinReason::None ? ", pinned," : "", what,
        server.id());
    server.close("its client had loaded a library (LOAD)");
    return true;
  }
  log_.info("client {} ({}){} left with {}: server {} is cleaned with DISCARD ALL before reuse",
            client.id(), client.peer(), was != session::PinReason::None ? ", pinned," : "", what,
            server.id());
  server.unlink_and_reset(true);  // ROLLBACK if needed, DISCARD ALL; closed if that fails
  return true;
}

std::size_t Proxy::pinned_clients(const PoolEntry& pool) const {
  std::size_t n = 0;
  for (const auto& [id, c] : clients_)
    if (c->pool_entry() == &pool && c->pinned() != session::PinReason::None) ++n;
  return n;
}

}  // namespace ouroboros::proxy
