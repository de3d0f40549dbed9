#pragma once
// What the host-based rules (auth.hba_file) say about one client, right after its startup
// packet: refused (with PostgreSQL's words), or let in with which authentication method. Without
// an hba file every client is authenticated as auth.type says.
#include <string>

#include "config/config.h"

namespace ouroboros::auth {

struct HbaDecision {
  bool allowed = true;
  config::AuthType type = config::AuthType::ScramSha256;  // when allowed
  std::string message;     // when refused: the client's FATAL text (SQLSTATE 28000)
  std::string log_reason;  // which line decided, for the log
};

HbaDecision decide_hba(const config::AuthConfig& auth, const config::ConnectionFacts& facts,
                       const std::string& database, const std::string& user);

}  // namespace ouroboros::auth
