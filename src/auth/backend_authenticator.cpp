#include "auth/backend_authenticator.h"

#include <algorithm>

namespace ouroboros::auth {

using protocol::AuthCode;

BackendCredentials BackendCredentials::from_secret(std::string user, const std::string& secret,
                                                   std::optional<protocol::ScramClientKeys> keys) {
  BackendCredentials c;
  c.user = std::move(user);
  c.scram_keys = keys;
  if (protocol::is_md5_hash(secret)) {
    c.md5_hash = secret;
  } else if (!protocol::is_scram_verifier(secret) && !secret.empty()) {
    c.password = secret;
  }
  return c;
}

AuthStep BackendAuthenticator::on_request(const protocol::AuthenticationRequest& request) {
  AuthStep step;
  auto fail = [](std::string reason) { return AuthStep{AuthStep::Kind::Failure, {}, std::move(reason)}; };
  switch (static_cast<AuthCode>(request.code)) {
    case AuthCode::Ok:
      step.kind = AuthStep::Kind::Success;
      return step;
    case AuthCode::CleartextPassword:
      if (!credentials_.password) return fail("server asks for a clear-text password, but only a hash is configured");
      protocol::encode_password(step.out, *credentials_.password);
      return step;
    case AuthCode::Md5Password: {
      std::string hash;
      if (credentials_.password) {
        hash = protocol::md5_stored_hash(*credentials_.password, credentials_.user);
      } else if (credentials_.md5_hash) {
        hash = *credentials_.md5_hash;
      } else {
        return fail("server asks for md5, but only a SCRAM verifier is configured");
      }
      protocol::encode_password(step.out, protocol::md5_response_from_hash(hash, request.md5_salt));
      return step;
    }
    case AuthCode::Sasl: {
      const auto& mechs = request.sasl_mechanisms;
      if (std::find(mechs.begin(), mechs.end(), "SCRAM-SHA-256") == mechs.end())
        return fail("server offers no supported SASL mechanism");
      if (credentials_.password) {
        scram_.emplace(*credentials_.password, protocol::random_nonce());
      } else if (credentials_.scram_keys) {
        scram_.emplace(*credentials_.scram_keys, protocol::random_nonce());
      } else {
        return fail("server asks for SCRAM, but no password (or client SCRAM proof) is available");
      }
      protocol::encode_sasl_initial_response(step.out, "SCRAM-SHA-256", scram_->client_first());
      return step;
    }
    case AuthCode::SaslContinue: {
      if (!scram_) return fail("unexpected SASL continue");
      auto final_message = scram_->handle_server_first(as_chars(request.sasl_data));
      if (!final_message) return fail("SCRAM: " + std::string(scram_->error()));
      protocol::encode_sasl_response(step.out, *final_message);
      return step;
    }
    case AuthCode::SaslFinal:
      if (!scram_ || !scram_->verify_server_final(as_chars(request.sasl_data)))
        return fail("SCRAM: server signature does not match");
      step.kind = AuthStep::Kind::Send;  // nothing to send; AuthenticationOk follows
      return step;
  }
  return fail("unsupported authentication request " + std::to_string(request.code));
}

}  // namespace ouroboros::auth
