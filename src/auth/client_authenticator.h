#pragma once
// Server side of client authentication: the proxy asks for and checks the client's password as
// auth.type says (SCRAM-SHA-256, md5 or trust). Unknown users go through the same exchange and
// fail at its end, as PostgreSQL does, so the outcome does not reveal which users exist.
#include <memory>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "config/config.h"
#include "protocol/auth.h"

namespace ouroboros::auth {

struct AuthStep {
  enum class Kind { Send, Success, Failure };
  Kind kind = Kind::Send;
  Bytes out;           // Send: the message(s) to write to the client
  std::string reason;  // Failure: for the log only; the client sees a generic 28P01
};

class ClientAuthenticator {
 public:
  // `user` is null for an unknown user; it keeps the configuration it points into alive (an
  // aliasing pointer into a config::Config snapshot), so a reload during the exchange cannot free
  // it. `scram_verifier` is the verifier to check against (the configured one, or one derived once
  // from a plain password); `mock_salt` seeds the fake exchange for unknown users.
  // `channel_binding`: over TLS, the tls-server-end-point data (the hash of the proxy's
  // certificate); SCRAM-SHA-256-PLUS is then offered besides SCRAM-SHA-256.
  ClientAuthenticator(config::AuthType type, std::string user_name,
                      std::shared_ptr<const config::UserConfig> user,
                      std::optional<protocol::ScramVerifier> scram_verifier, std::string mock_salt,
                      Bytes channel_binding = {});

  // The first request to the client (or Success for trust).
  AuthStep start();
  // The body of the client's 'p' message.
  AuthStep on_password_message(ByteView body);

  // What the log says when the exchange fails for want of a user (default "no such user"),
  // e.g. auth_query's "the password has expired"; the client sees the same 28P01 either way.
  void set_unknown_user_reason(std::string reason) { unknown_user_reason_ = std::move(reason); }

  // After a SCRAM success: keys that let the proxy log in to PostgreSQL without the password.
  const std::optional<protocol::ScramClientKeys>& scram_keys() const { return scram_keys_; }

 private:
  enum class Method { Trust, Scram, Md5 };
  enum class Stage { Start, ScramFirst, ScramFinal, Md5, Done };
  AuthStep fail(std::string reason);
  protocol::ScramVerifier mock_verifier() const;

  config::AuthType type_;
  std::string user_name_;
  std::shared_ptr<const config::UserConfig> user_;
  std::optional<protocol::ScramVerifier> verifier_;
  std::string mock_salt_;
  std::string channel_binding_;
  Method method_ = Method::Scram;
  Stage stage_ = Stage::Start;
  std::optional<protocol::ScramServer> scram_;
  std::uint8_t md5_salt_[4] = {0, 0, 0, 0};
  std::optional<protocol::ScramClientKeys> scram_keys_;
  std::string unknown_user_reason_ = "no such user";
};

}  // namespace ouroboros::auth
