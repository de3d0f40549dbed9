#include "session/client_session.h"

namespace ouroboros::session {

const char* to_string(ClientState state) {
  switch (state) {
    case ClientState::Startup: return "startup";
    case ClientState::Authenticating: return "authenticating";
    case ClientState::WaitingForServer: return "waiting for a server";
    case ClientState::Idle: return "idle";
    case ClientState::Linked: return "linked";
    case ClientState::Admin: return "admin console";
    case ClientState::Closed: return "closed";
  }
  return "?";
}

}  // namespace ouroboros::session
