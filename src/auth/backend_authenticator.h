#pragma once
// Client side of logging in to PostgreSQL: answers the server's Authentication requests with the
// credentials the proxy has for the backend user: a plain password, an md5 hash, or SCRAM keys
// recovered from the client's own SCRAM proof.
#include <optional>
#include <string>

#include "auth/client_authenticator.h"
#include "protocol/auth.h"
#include "protocol/messages.h"

namespace ouroboros::auth {

struct BackendCredentials {
  std::string user;
  std::optional<std::string> password;  // plain text
  std::optional<std::string> md5_hash;  // "md5..." for this user
  std::optional<protocol::ScramClientKeys> scram_keys;

  // From a configured secret, which may be plain, an md5 hash or a SCRAM verifier.
  static BackendCredentials from_secret(std::string user, const std::string& secret,
                                        std::optional<protocol::ScramClientKeys> keys);
};

class BackendAuthenticator {
 public:
  explicit BackendAuthenticator(BackendCredentials credentials) : credentials_(std::move(credentials)) {}

  // Success = AuthenticationOk received; Send = reply to write; Failure = cannot continue.
  AuthStep on_request(const protocol::AuthenticationRequest& request);

 private:
  BackendCredentials credentials_;
  std::optional<protocol::ScramClient> scram_;
};

}  // namespace ouroboros::auth
