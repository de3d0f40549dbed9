#include "auth/client_authenticator.h"

#include <openssl/rand.h>

#include "protocol/messages.h"

namespace ouroboros::auth {

using protocol::ScramVerifier;

ClientAuthenticator::ClientAuthenticator(config::AuthType type, std::string user_name,
                                         std::shared_ptr<const config::UserConfig> user,
                                         std::optional<ScramVerifier> scram_verifier,
                                         std::string mock_salt, Bytes channel_binding)
    : type_(type),
      user_name_(std::move(user_name)),
      user_(std::move(user)),
      verifier_(std::move(scram_verifier)),
      mock_salt_(std::move(mock_salt)),
      channel_binding_(channel_binding.begin(), channel_binding.end()) {
  if (type_ == config::AuthType::Trust) {
    method_ = Method::Trust;
  } else if (type_ == config::AuthType::Md5 && (!user_ || !protocol::is_scram_verifier(user_->password))) {
    method_ = Method::Md5;  // like PostgreSQL: md5 falls back to SCRAM when only a verifier is stored
  } else {
    method_ = Method::Scram;
  }
}

ScramVerifier ClientAuthenticator::mock_verifier() const {
  // Random keys no proof can match, with the stable fake salt. No key derivation: a known user's
  // stored verifier costs none either, so the two take the same time.
  ScramVerifier verifier;
  verifier.salt = mock_salt_;
  RAND_bytes(verifier.stored_key.data(), static_cast<int>(verifier.stored_key.size()));
  RAND_bytes(verifier.server_key.data(), static_cast<int>(verifier.server_key.size()));
  return verifier;
}

AuthStep ClientAuthenticator::fail(std::string reason) {
  stage_ = Stage::Done;
  return {AuthStep::Kind::Failure, {}, std::move(reason)};
}

AuthStep ClientAuthenticator::start() {
  AuthStep step;
  switch (method_) {
    case Method::Trust:
      stage_ = Stage::Done;
      step.kind = AuthStep::Kind::Success;
      return step;
    case Method::Md5:
      RAND_bytes(md5_salt_, sizeof(md5_salt_));
      protocol::encode_authentication_md5(step.out, md5_salt_);
      stage_ = Stage::Md5;
      return step;
    case Method::Scram:
      if (channel_binding_.empty())
        protocol::encode_authentication_sasl(step.out, {"SCRAM-SHA-256"});
      else
        protocol::encode_authentication_sasl(step.out, {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
      stage_ = Stage::ScramFirst;
      return step;
  }
  return fail("unreachable");
}

AuthStep ClientAuthenticator::on_password_message(ByteView body) {
  AuthStep step;
  switch (stage_) {
    case Stage::Md5: {
      auto response = protocol::decode_password(body);
      if (!response) return fail("malformed password message");
      if (!user_) return fail(unknown_user_reason_);
      std::string stored = protocol::is_md5_hash(user_->password)
                               ? user_->password
                               : protocol::md5_stored_hash(user_->password, user_name_);
      std::string expected = protocol::md5_response_from_hash(stored, md5_salt_);
      if (!protocol::constant_time_equal(*response, expected)) return fail("wrong password (md5)");
      stage_ = Stage::Done;
      step.kind = AuthStep::Kind::Success;
      return step;
    }
    case Stage::ScramFirst: {
      auto initial = protocol::decode_sasl_initial_response(body);
      if (!initial) return fail("malformed SASLInitialResponse");
      bool plus = initial->mechanism == "SCRAM-SHA-256-PLUS" && !channel_binding_.empty();
      if (initial->mechanism != "SCRAM-SHA-256" && !plus) return fail("unsupported SASL mechanism");
      // The -PLUS mechanism binds to the channel, and only it does.
      if (plus != as_chars(initial->data).starts_with("p="))
        return fail("SCRAM channel binding does not match the mechanism " + std::string(initial->mechanism));
      // Unknown users (and users whose stored secret cannot do SCRAM) get a fake but
      // well-formed challenge and fail at the proof.
      ScramVerifier verifier = verifier_ ? *verifier_ : mock_verifier();
      scram_.emplace(std::move(verifier), protocol::random_nonce(), channel_binding_);
      auto server_first = scram_->handle_client_first(as_chars(initial->data));
      if (!server_first) return fail(std::string("SCRAM: ") + std::string(scram_->error()));
      protocol::encode_authentication_sasl_continue(step.out, *server_first);
      stage_ = Stage::ScramFinal;
      return step;
    }
    case Stage::ScramFinal: {
      auto server_final = scram_->handle_client_final(as_chars(body));
      // An unknown user's fake exchange fails here too: the log says why it was doomed.
      if (!server_final && !user_) return fail(unknown_user_reason_);
      if (!server_final && !verifier_)
        return fail("the stored password is an md5 hash, which cannot check a SCRAM login");
      if (!server_final) return fail(std::string("SCRAM: ") + std::string(scram_->error()));
      if (!user_) return fail(unknown_user_reason_);
      if (!verifier_) return fail("stored password cannot be used with SCRAM (md5 hash configured)");
      scram_keys_ = scram_->client_keys();
      protocol::encode_authentication_sasl_final(step.out, *server_final);
      stage_ = Stage::Done;
      step.kind = AuthStep::Kind::Success;
      return step;
    }
    case Stage::Start:
    case Stage::Done:
      break;
  }
  return fail("unexpected password message");
}

}  // namespace ouroboros::auth
