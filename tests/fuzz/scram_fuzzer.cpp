// libFuzzer target for password authentication: SCRAM-SHA-256 messages on both sides
// (src/protocol/auth.*), the authenticators that drive them (src/auth/*authenticator*), and the
// verifier, md5 and base64 parsers. The first byte picks a mode; the rest is records
// (fuzz_support.h), each one message from the peer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth/backend_authenticator.h"
#include "auth/client_authenticator.h"
#include "common/bytes.h"
#include "fuzz_support.h"
#include "protocol/auth.h"
#include "protocol/messages.h"

using namespace ouroboros;
using namespace ouroboros::protocol;
using fuzz::Records;
using fuzz::require;

namespace {

// One PBKDF2 iteration keeps a round trip cheap; the message handling is the same as for 4096.
const ScramVerifier& verifier() {
  static const ScramVerifier v = ScramVerifier::from_password("pencil", "salt-bytes", 1);
  return v;
}

void check_text_parsers(std::string_view text) {
  if (const auto parsed = ScramVerifier::parse(text)) {
    require(parsed->iterations >= 1 && !parsed->salt.empty());
    require(ScramVerifier::parse(parsed->to_string()) == parsed);
    require(is_scram_verifier(text));
  }
  if (const auto raw = base64_decode(text)) {
    require(base64_decode(base64_encode(*raw)) == raw);
    require(raw->size() == text.size() / 4 * 3 - (text.ends_with("==") ? 2 : text.ends_with("=")));
  }
  if (is_md5_hash(text)) {
    const std::uint8_t salt[4] = {1, 2, 3, 4};
    require(md5_response_from_hash(text, salt).size() == 35);
  }
}

// A real exchange with a valid client nonce (printable, no ',') from the input must succeed on
// both sides; an invalid one fails cleanly on both.
void check_round_trip(std::string_view client_nonce) {
  bool valid = !client_nonce.empty();
  for (char c : client_nonce) valid = valid && c >= 0x21 && c <= 0x7e && c != ',';
  ScramClient client("pencil", std::string(client_nonce));
  ScramServer server(verifier(), "server-nonce");
  const auto server_first = server.handle_client_first(client.client_first());
  if (!valid) {
    if (server_first) require(!client.handle_server_first(*server_first));
    return;
  }
  require(server_first.has_value());
  const auto client_final = client.handle_server_first(*server_first);
  require(client_final.has_value());
  const auto server_final = server.handle_client_final(*client_final);
  require(server_final.has_value());
  require(client.verify_server_final(*server_final));
  require(server.client_keys().server_key == verifier().server_key);
  // Replaying the client-final-message fails.
  require(!server.handle_client_final(*client_final));
}

// The server side, with the client's messages from the input.
void check_server(Records& records) {
  ScramServer server(verifier(), "server-nonce");
  Records::Record record;
  bool succeeded = false;
  while (records.next(record)) {
    if (record.tag % 2 == 0) {
      const auto first = server.handle_client_first(record.bytes);
      require(first.has_value() == server.error().empty());
      if (first)
        require(first->starts_with("r=") && first->find("server-nonce") != std::string::npos);
    } else {
      const auto final = server.handle_client_final(record.bytes);
      require(final.has_value() == server.error().empty());
      if (final) {
        require(!succeeded && final->starts_with("v="));
        succeeded = true;
      }
    }
  }
}

// The client side with recovered keys, with the server's messages from the input.
void check_client(Records& records) {
  const ScramClientKeys keys{verifier().stored_key, verifier().server_key};
  ScramClient client(keys, "client-nonce");
  (void)client.client_first();
  Records::Record record;
  while (records.next(record)) {
    if (record.tag % 2 == 0) {
      const auto final = client.handle_server_first(record.bytes);
      require(final.has_value() == client.error().empty());
      if (final) require(final->starts_with("c=biws,r=client-nonce"));
    } else {
      const bool verified = client.verify_server_final(record.bytes);
      require(verified == client.error().empty());
    }
  }
}

// The proxy authenticating a client: password messages from the input.
void check_client_authenticator(std::uint8_t variant, Records& records) {
  static const auto plain = std::make_shared<const config::UserConfig>(
      config::UserConfig{"alice", "pencil", std::nullopt});
  static const auto md5 = std::make_shared<const config::UserConfig>(
      config::UserConfig{"alice", md5_stored_hash("pencil", "alice"), std::nullopt});
  static const auto scram = std::make_shared<const config::UserConfig>(
      config::UserConfig{"alice", verifier().to_string(), std::nullopt});
  const std::shared_ptr<const config::UserConfig> users[] = {plain, md5, scram};
  const config::AuthType types[] = {config::AuthType::ScramSha256, config::AuthType::Md5,
                                    config::AuthType::Trust};
  const config::AuthType type = types[variant % 3];
  auth::ClientAuthenticator authenticator(type, "alice", users[(variant / 3) % 3], verifier(),
                                          "mock-salt");
  auth::AuthStep step = authenticator.start();
  bool done = step.kind != auth::AuthStep::Kind::Send;
  Records::Record record;
  while (records.next(record)) {
    step = authenticator.on_password_message(as_bytes(record.bytes));
    // Once the exchange is over (either way), every further message is refused.
    if (done) require(step.kind == auth::AuthStep::Kind::Failure);
    if (step.kind != auth::AuthStep::Kind::Send) done = true;
    if (step.kind == auth::AuthStep::Kind::Failure)
      require(!step.reason.empty() && step.out.empty());
  }
}

// The proxy logging in to a server: Authentication request bodies from the input.
void check_backend_authenticator(std::uint8_t variant, Records& records) {
  const ScramClientKeys keys{verifier().stored_key, verifier().server_key};
  const std::string secrets[] = {"pencil", md5_stored_hash("pencil", "alice"),
                                 verifier().to_string()};
  const std::string& secret = secrets[variant % 3];
  auth::BackendAuthenticator authenticator(
      auth::BackendCredentials::from_secret("alice", secret, keys));
  Records::Record record;
  while (records.next(record)) {
    const auto request = decode_authentication(as_bytes(record.bytes));
    if (!request) continue;
    // With a plain password the server's iteration count drives PBKDF2: a fuzzed count would
    // only measure OpenSSL's speed.
    if (variant % 3 == 0 && request->code == static_cast<std::int32_t>(AuthCode::SaslContinue))
      continue;
    const auth::AuthStep step = authenticator.on_request(*request);
    if (step.kind == auth::AuthStep::Kind::Failure)
      require(!step.reason.empty() && step.out.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view rest = fuzz::as_text(data + 1, size - 1);
  Records records(rest);
  switch (mode % 6) {
    case 0:
      check_text_parsers(rest);
      break;
    case 1:
      check_round_trip(rest);
      break;
    case 2:
      check_server(records);
      break;
    case 3:
      check_client(records);
      break;
    case 4:
      check_client_authenticator(mode / 6, records);
      break;
    default:
      check_backend_authenticator(mode / 6, records);
      break;
  }
  return 0;
}
