// Notification: one NOTIFY received on a connection that LISTENs.
#pragma once

#include <string>

namespace ouroboros {

struct Notification {
  std::string channel;
  std::string payload;
  int sender_pid = 0;  // the backend process that sent it
};

}  // namespace ouroboros
