// Full authentication exchanges in memory: the proxy's server side (ClientAuthenticator) against
// its client side (BackendAuthenticator), through the real wire encoding: every message one side
// writes is framed with FrameReader and decoded before the other side sees it.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "auth/backend_authenticator.h"
#include "auth/client_authenticator.h"
#include "config/config.h"
#include "protocol/auth.h"
#include "protocol/frame_reader.h"
#include "protocol/messages.h"

using namespace ouroboros;
using auth::AuthStep;
using auth::BackendAuthenticator;
using auth::BackendCredentials;
using auth::ClientAuthenticator;
using config::AuthType;
using protocol::ScramVerifier;

namespace {

// From a PostgreSQL 15.18 cluster: CREATE ROLE alice PASSWORD 'secret' with
// password_encryption = 'scram-sha-256', then SELECT rolpassword FROM pg_authid.
constexpr const char* kPostgresVerifier =
    "SCRAM-SHA-256$4096:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=:"
    "l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=";
constexpr const char* kMockSalt = "mock-salt-for-unknown";

constexpr std::int32_t kOk = 0, kCleartext = 3, kMd5 = 5, kSasl = 10, kSaslContinue = 11,
                       kSaslFinal = 12;

struct Message {
  char type;
  Bytes body;
};

// Splits bytes into complete typed messages; the buffer must hold nothing else.
std::vector<Message> split(const Bytes& bytes) {
  protocol::FrameReader reader(1 << 20);
  std::vector<Message> out;
  ByteView rest(bytes);
  while (!rest.empty()) {
    auto r = reader.read_typed(rest);
    REQUIRE(r.status == protocol::FrameStatus::Ready);
    out.push_back({r.frame.type, Bytes(r.frame.body.begin(), r.frame.body.end())});
    rest = rest.subspan(r.frame.size);
  }
  return out;
}

// The body of the single 'p' message in `bytes`.
Bytes password_body(const Bytes& bytes) {
  auto messages = split(bytes);
  REQUIRE(messages.size() == 1);
  REQUIRE(messages[0].type == protocol::frontend::kPassword);
  return messages[0].body;
}

Bytes bytes_of(std::string_view s) {
  ByteView v = as_bytes(s);
  return Bytes(v.begin(), v.end());
}

std::shared_ptr<const config::UserConfig> user(std::string name, std::string password) {
  config::UserConfig u;
  u.name = std::move(name);
  u.password = std::move(password);
  return std::make_shared<const config::UserConfig>(std::move(u));
}

BackendCredentials with_password(std::string name, std::string password) {
  BackendCredentials c;
  c.user = std::move(name);
  c.password = std::move(password);
  return c;
}

struct Exchange {
  enum class Result { Success, ServerRejected, ClientRejected };
  Result result = Result::ServerRejected;
  std::string reason;
  std::vector<std::int32_t> codes;  // Authentication codes the client side received, in order
  int password_messages = 0;        // 'p' messages the server side received
};

// Tamper hook: may rewrite the body of an Authentication message before the client side sees it.
using Tamper = std::function<void(std::int32_t code, Bytes& body)>;

Exchange run(ClientAuthenticator& server, BackendAuthenticator& client, const Tamper& tamper = {}) {
  Exchange ex;
  AuthStep s = server.start();
  for (int round = 0; round < 6; ++round) {
    if (s.kind == AuthStep::Kind::Failure) {
      CHECK(s.out.empty());
      ex.result = Exchange::Result::ServerRejected;
      ex.reason = s.reason;
      return ex;
    }
    Bytes to_client = s.out;
    if (s.kind == AuthStep::Kind::Success) protocol::encode_authentication_ok(to_client);
    std::optional<Bytes> reply;
    for (Message& m : split(to_client)) {
      REQUIRE(m.type == protocol::backend::kAuthentication);
      auto request = protocol::decode_authentication(m.body);
      REQUIRE(request);
      ex.codes.push_back(request->code);
      if (tamper) {
        tamper(request->code, m.body);
        request = protocol::decode_authentication(m.body);
        REQUIRE(request);
      }
      AuthStep c = client.on_request(*request);
      if (c.kind == AuthStep::Kind::Failure) {
        ex.result = Exchange::Result::ClientRejected;
        ex.reason = c.reason;
        return ex;
      }
      if (c.kind == AuthStep::Kind::Success) {
        REQUIRE(s.kind == AuthStep::Kind::Success);  // only after AuthenticationOk
        ex.result = Exchange::Result::Success;
        return ex;
      }
      if (!c.out.empty()) {
        REQUIRE_FALSE(reply);  // one reply per round
        reply = c.out;
      }
    }
    REQUIRE(s.kind == AuthStep::Kind::Send);
    REQUIRE(reply);
    ++ex.password_messages;
    s = server.on_password_message(password_body(*reply));
  }
  FAIL("exchange did not finish");
  return ex;
}

using R = Exchange::Result;
const std::vector<std::int32_t> kScramSuccess = {kSasl, kSaslContinue, kSaslFinal, kOk};
const std::vector<std::int32_t> kScramRejected = {kSasl, kSaslContinue};

}  // namespace

// ---------------------------------------------------------------------------------------------
// SCRAM-SHA-256

TEST_CASE("scram with a plain configured password succeeds and yields scram_keys") {
  auto alice = user("alice", "secret");
  const auto verifier = ScramVerifier::from_password("secret", "0123456789abcdef");
  ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
  BackendAuthenticator client(with_password("alice", "secret"));
  CHECK_FALSE(server.scram_keys().has_value());

  const Exchange ex = run(server, client);
  CHECK(ex.result == R::Success);
  CHECK(ex.codes == kScramSuccess);
  CHECK(ex.password_messages == 2);
  REQUIRE(server.scram_keys().has_value());
  CHECK(server.scram_keys()->server_key == verifier.server_key);
  CHECK(server.scram_keys()->client_key != protocol::Key32{});
}

TEST_CASE("scram with a configured SCRAM verifier and a client holding the plain password") {
  auto alice = user("alice", kPostgresVerifier);
  const auto verifier = ScramVerifier::parse(alice->password);
  REQUIRE(verifier);
  ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
  BackendAuthenticator client(BackendCredentials::from_secret("alice", "secret", std::nullopt));
  const Exchange ex = run(server, client);
  CHECK(ex.result == R::Success);
  CHECK(ex.codes == kScramSuccess);
  CHECK(server.scram_keys().has_value());
}

TEST_CASE("recovered scram_keys log in again without the password") {
  auto alice = user("alice", kPostgresVerifier);
  const auto verifier = ScramVerifier::parse(alice->password);
  REQUIRE(verifier);

  ClientAuthenticator first(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
  BackendAuthenticator with_pw(with_password("alice", "secret"));
  REQUIRE(run(first, with_pw).result == R::Success);
  REQUIRE(first.scram_keys().has_value());
  const protocol::ScramClientKeys keys = *first.scram_keys();

  // What the proxy does when only the verifier is configured: credentials from the verifier text
  // carry no password and no md5 hash, only the keys.
  const BackendCredentials creds = BackendCredentials::from_secret("alice", kPostgresVerifier, keys);
  CHECK_FALSE(creds.password.has_value());
  CHECK_FALSE(creds.md5_hash.has_value());

  SUBCASE("against the same verifier") {
    ClientAuthenticator second(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
    BackendAuthenticator with_keys(creds);
    const Exchange ex = run(second, with_keys);
    CHECK(ex.result == R::Success);
    CHECK(ex.codes == kScramSuccess);
    REQUIRE(second.scram_keys().has_value());
    CHECK(*second.scram_keys() == keys);
  }
  SUBCASE("against a verifier of the same password with another salt: rejected") {
    const auto other = ScramVerifier::from_password("secret", "another-salt");
    ClientAuthenticator second(AuthType::ScramSha256, "alice", alice, other, kMockSalt);
    BackendAuthenticator with_keys(creds);
    const Exchange ex = run(second, with_keys);
    CHECK(ex.result == R::ServerRejected);
    CHECK(ex.codes == kScramRejected);
    CHECK_FALSE(second.scram_keys().has_value());
  }
}

TEST_CASE("scram with a wrong password is rejected at the proof") {
  auto alice = user("alice", "secret");
  ClientAuthenticator server(AuthType::ScramSha256, "alice", alice,
                             ScramVerifier::from_password("secret", "salt-salt-salt"), kMockSalt);
  BackendAuthenticator client(with_password("alice", "Secret"));
  const Exchange ex = run(server, client);
  CHECK(ex.result == R::ServerRejected);
  CHECK(ex.codes == kScramRejected);
  CHECK(ex.password_messages == 2);
  CHECK_FALSE(server.scram_keys().has_value());
}

TEST_CASE("scram with an unknown user runs the whole exchange and fails at its end") {
  ClientAuthenticator server(AuthType::ScramSha256, "mallory", nullptr, std::nullopt, kMockSalt);
  BackendAuthenticator client(with_password("mallory", "guess"));
  const Exchange ex = run(server, client);
  CHECK(ex.result == R::ServerRejected);
  CHECK(ex.codes == kScramRejected);  // same shape as a wrong password: nothing revealed early
  CHECK(ex.password_messages == 2);
  CHECK_FALSE(server.scram_keys().has_value());
}

TEST_CASE("an unknown user's refusal is logged with the reason set for it (auth_query)") {
  for (AuthType type : {AuthType::ScramSha256, AuthType::Md5}) {
    ClientAuthenticator server(type, "gone", nullptr, std::nullopt, kMockSalt);
    server.set_unknown_user_reason("auth_query: the password has expired (VALID UNTIL)");
    BackendAuthenticator client(with_password("gone", "right password"));
    const Exchange ex = run(server, client);
    CHECK(ex.result == R::ServerRejected);
    CHECK(ex.reason == "auth_query: the password has expired (VALID UNTIL)");
    if (type == AuthType::ScramSha256) CHECK(ex.codes == kScramRejected);  // the whole exchange
  }
}

TEST_CASE("unknown users see a stable fake salt derived from mock_salt") {
  // Two probes of one unknown user must not differ in the salt (that would reveal the fake).
  auto salt_of = [](const std::string& mock_salt) {
    ClientAuthenticator server(AuthType::ScramSha256, "mallory", nullptr, std::nullopt, mock_salt);
    REQUIRE(server.start().kind == AuthStep::Kind::Send);
    Bytes initial;
    protocol::encode_sasl_initial_response(initial, "SCRAM-SHA-256", "n,,n=,r=clientnonce");
    AuthStep step = server.on_password_message(password_body(initial));
    REQUIRE(step.kind == AuthStep::Kind::Send);
    auto messages = split(step.out);
    REQUIRE(messages.size() == 1);
    auto request = protocol::decode_authentication(messages[0].body);
    REQUIRE(request);
    REQUIRE(request->code == kSaslContinue);
    std::string data(as_chars(request->sasl_data));
    const auto s = data.find(",s=");
    REQUIRE(s != std::string::npos);
    CHECK(data.ends_with(",i=4096"));
    return data.substr(s, data.find(",i=") - s);
  };
  CHECK(salt_of(kMockSalt) == salt_of(kMockSalt));
  CHECK(salt_of(kMockSalt) != salt_of("another-mock-salt"));
}

TEST_CASE("scram with an md5 hash configured cannot succeed (no verifier)") {
  auto alice = user("alice", protocol::md5_stored_hash("secret", "alice"));
  ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, std::nullopt, kMockSalt);
  BackendAuthenticator client(with_password("alice", "secret"));
  const Exchange ex = run(server, client);
  CHECK(ex.result == R::ServerRejected);
  CHECK(ex.codes == kScramRejected);
  CHECK(ex.reason == "the stored password is an md5 hash, which cannot check a SCRAM login");
}

TEST_CASE("a tampered server signature in SASLFinal is rejected by the backend side") {
  auto alice = user("alice", "secret");
  ClientAuthenticator server(AuthType::ScramSha256, "alice", alice,
                             ScramVerifier::from_password("secret", "salt-salt-salt"), kMockSalt);
  BackendAuthenticator client(with_password("alice", "secret"));
  bool tampered = false;
  const Exchange ex = run(server, client, [&](std::int32_t code, Bytes& body) {
    if (code != kSaslFinal) return;
    // body: int32 code, then "v=<base64 signature>"; change one signature character.
    REQUIRE(body.size() > 8);
    REQUIRE(body[4] == 'v');
    body[6] = body[6] == 'A' ? 'B' : 'A';
    tampered = true;
  });
  CHECK(tampered);
  CHECK(ex.result == R::ClientRejected);
  CHECK(ex.reason.find("signature") != std::string::npos);
  CHECK(ex.codes == std::vector<std::int32_t>{kSasl, kSaslContinue, kSaslFinal});
}

TEST_CASE("a tampered salt in SASLContinue makes the proof fail at the server side") {
  auto alice = user("alice", "secret");
  ClientAuthenticator server(AuthType::ScramSha256, "alice", alice,
                             ScramVerifier::from_password("secret", "salt-salt-salt"), kMockSalt);
  BackendAuthenticator client(with_password("alice", "secret"));
  const Exchange ex = run(server, client, [&](std::int32_t code, Bytes& body) {
    if (code != kSaslContinue) return;
    std::string data(as_chars(ByteView(body).subspan(4)));
    const auto s = data.find(",s=");
    REQUIRE(s != std::string::npos);
    data[s + 3] = data[s + 3] == 'A' ? 'B' : 'A';
    body.resize(4);
    append(body, as_bytes(data));
  });
  CHECK(ex.result == R::ServerRejected);
  CHECK(ex.codes == kScramRejected);
}

// ---------------------------------------------------------------------------------------------
// md5 and trust

TEST_CASE("md5 with a plain configured password") {
  auto bob = user("bob", "hunter2");
  ClientAuthenticator server(AuthType::Md5, "bob", bob, ScramVerifier::from_password("hunter2", "s"),
                             kMockSalt);
  SUBCASE("right password") {
    BackendAuthenticator client(with_password("bob", "hunter2"));
    const Exchange ex = run(server, client);
    CHECK(ex.result == R::Success);
    CHECK(ex.codes == std::vector<std::int32_t>{kMd5, kOk});
    CHECK(ex.password_messages == 1);
    CHECK_FALSE(server.scram_keys().has_value());
  }
  SUBCASE("wrong password") {
    BackendAuthenticator client(with_password("bob", "hunter3"));
    const Exchange ex = run(server, client);
    CHECK(ex.result == R::ServerRejected);
    CHECK(ex.codes == std::vector<std::int32_t>{kMd5});
  }
}

TEST_CASE("md5 with an md5 hash configured") {
  auto bob = user("bob", protocol::md5_stored_hash("hunter2", "bob"));
  ClientAuthenticator server(AuthType::Md5, "bob", bob, std::nullopt, kMockSalt);
  SUBCASE("client with the plain password") {
    BackendAuthenticator client(with_password("bob", "hunter2"));
    CHECK(run(server, client).result == R::Success);
  }
  SUBCASE("client with only the same md5 hash") {
    BackendAuthenticator client(BackendCredentials::from_secret("bob", bob->password, std::nullopt));
    const Exchange ex = run(server, client);
    CHECK(ex.result == R::Success);
    CHECK(ex.codes == std::vector<std::int32_t>{kMd5, kOk});
  }
  SUBCASE("client hashing the password with another user name") {
    BackendAuthenticator client(with_password("robert", "hunter2"));
    CHECK(run(server, client).result == R::ServerRejected);
  }
}

TEST_CASE("md5 and scram logins outlive the configuration they started with (reload mid-login)") {
  // The proxy hands the authenticator a pointer into its configuration snapshot; a reload drops
  // the proxy's reference while the client is still answering. The exchange must keep it alive.
  for (AuthType type : {AuthType::Md5, AuthType::ScramSha256}) {
    auto config = std::make_shared<config::Config>();
    config->auth.users["bob"] = *user("bob", "hunter2");
    std::weak_ptr<const config::Config> watch = config;
    std::optional<ScramVerifier> verifier;
    if (type == AuthType::ScramSha256) verifier = ScramVerifier::from_password("hunter2", "s");
    ClientAuthenticator server(type, "bob",
                               std::shared_ptr<const config::UserConfig>(config, &config->auth.users["bob"]),
                               verifier, kMockSalt);
    BackendAuthenticator client(with_password("bob", "hunter2"));
    const Exchange ex = run(server, client, [&](std::int32_t, Bytes&) { config.reset(); });
    CHECK(ex.result == R::Success);
    CHECK_FALSE(config);
    CHECK_FALSE(watch.expired());  // the authenticator still holds the snapshot
  }
}

TEST_CASE("md5 with an unknown user: md5 challenge, then failure") {
  ClientAuthenticator server(AuthType::Md5, "mallory", nullptr, std::nullopt, kMockSalt);
  BackendAuthenticator client(with_password("mallory", "guess"));
  const Exchange ex = run(server, client);
  CHECK(ex.result == R::ServerRejected);
  CHECK(ex.codes == std::vector<std::int32_t>{kMd5});
  CHECK(ex.password_messages == 1);
}

TEST_CASE("md5 auth type with a SCRAM verifier configured falls back to SCRAM") {
  auto alice = user("alice", kPostgresVerifier);
  ClientAuthenticator server(AuthType::Md5, "alice", alice, ScramVerifier::parse(alice->password),
                             kMockSalt);
  BackendAuthenticator client(with_password("alice", "secret"));
  const Exchange ex = run(server, client);
  CHECK(ex.result == R::Success);
  CHECK(ex.codes == kScramSuccess);
  CHECK(server.scram_keys().has_value());
}

TEST_CASE("md5 challenges use a fresh salt each time") {
  auto bob = user("bob", "hunter2");
  auto salt_of = [&] {
    ClientAuthenticator server(AuthType::Md5, "bob", bob, std::nullopt, kMockSalt);
    AuthStep step = server.start();
    auto messages = split(step.out);
    REQUIRE(messages.size() == 1);
    auto request = protocol::decode_authentication(messages[0].body);
    REQUIRE(request);
    REQUIRE(request->code == kMd5);
    return std::vector<std::uint8_t>(request->md5_salt, request->md5_salt + 4);
  };
  // 32 random bits: two equal salts in a row are a 1 in 2^32 event; three in a row never.
  const auto a = salt_of(), b = salt_of(), c = salt_of();
  CHECK_FALSE((a == b && b == c));
}

TEST_CASE("trust succeeds at once") {
  auto alice = user("alice", "secret");
  for (const auto& u : {alice, std::shared_ptr<const config::UserConfig>()}) {
    ClientAuthenticator server(AuthType::Trust, "alice", u, std::nullopt, kMockSalt);
    BackendAuthenticator client(BackendCredentials{});
    const Exchange ex = run(server, client);
    CHECK(ex.result == R::Success);
    CHECK(ex.codes == std::vector<std::int32_t>{kOk});
    CHECK(ex.password_messages == 0);
  }
  // And after Success, any password message is refused.
  ClientAuthenticator server(AuthType::Trust, "alice", alice, std::nullopt, kMockSalt);
  REQUIRE(server.start().kind == AuthStep::Kind::Success);
  CHECK(server.on_password_message(bytes_of(std::string("secret\0", 7))).kind == AuthStep::Kind::Failure);
}

// ---------------------------------------------------------------------------------------------
// BackendAuthenticator on its own

namespace {
protocol::AuthenticationRequest request_of(std::int32_t code) {
  protocol::AuthenticationRequest r;
  r.code = code;
  return r;
}
}  // namespace

TEST_CASE("BackendCredentials::from_secret classifies the secret") {
  const auto md5 = protocol::md5_stored_hash("pw", "u");
  auto plain = BackendCredentials::from_secret("u", "pw", std::nullopt);
  CHECK(plain.user == "u");
  CHECK(plain.password == std::optional<std::string>("pw"));
  CHECK_FALSE(plain.md5_hash.has_value());

  auto hashed = BackendCredentials::from_secret("u", md5, std::nullopt);
  CHECK_FALSE(hashed.password.has_value());
  CHECK(hashed.md5_hash == std::optional<std::string>(md5));

  auto scram = BackendCredentials::from_secret("u", kPostgresVerifier, protocol::ScramClientKeys{});
  CHECK_FALSE(scram.password.has_value());
  CHECK_FALSE(scram.md5_hash.has_value());
  CHECK(scram.scram_keys.has_value());

  auto empty = BackendCredentials::from_secret("u", "", std::nullopt);
  CHECK_FALSE(empty.password.has_value());
  CHECK_FALSE(empty.md5_hash.has_value());
  CHECK_FALSE(empty.scram_keys.has_value());
}

TEST_CASE("BackendAuthenticator: AuthenticationOk is success") {
  BackendAuthenticator client(BackendCredentials{});
  CHECK(client.on_request(request_of(kOk)).kind == AuthStep::Kind::Success);
}

TEST_CASE("BackendAuthenticator: cleartext") {
  SUBCASE("with the password: sends it") {
    BackendAuthenticator client(with_password("u", "pw"));
    AuthStep step = client.on_request(request_of(kCleartext));
    REQUIRE(step.kind == AuthStep::Kind::Send);
    CHECK(password_body(step.out) == bytes_of(std::string("pw\0", 3)));
  }
  SUBCASE("with only an md5 hash: fails with a clear reason") {
    BackendAuthenticator client(BackendCredentials::from_secret("u", protocol::md5_stored_hash("pw", "u"),
                                                                std::nullopt));
    AuthStep step = client.on_request(request_of(kCleartext));
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.out.empty());
    CHECK(step.reason.find("clear-text") != std::string::npos);
    CHECK(step.reason.find("hash") != std::string::npos);
  }
}

TEST_CASE("BackendAuthenticator: md5") {
  protocol::AuthenticationRequest r = request_of(kMd5);
  const std::uint8_t salt[4] = {1, 2, 0xfe, 0xff};
  std::copy(salt, salt + 4, r.md5_salt);
  const std::string expected =
      protocol::md5_response_from_hash(protocol::md5_stored_hash("pw", "u"), salt);
  CHECK(expected.starts_with("md5"));

  BackendAuthenticator plain(with_password("u", "pw"));
  AuthStep a = plain.on_request(r);
  REQUIRE(a.kind == AuthStep::Kind::Send);
  CHECK(password_body(a.out) == bytes_of(expected + '\0'));

  BackendAuthenticator hashed(
      BackendCredentials::from_secret("u", protocol::md5_stored_hash("pw", "u"), std::nullopt));
  AuthStep b = hashed.on_request(r);
  REQUIRE(b.kind == AuthStep::Kind::Send);
  CHECK(password_body(b.out) == bytes_of(expected + '\0'));

  BackendAuthenticator keys_only(
      BackendCredentials::from_secret("u", kPostgresVerifier, protocol::ScramClientKeys{}));
  AuthStep c = keys_only.on_request(r);
  CHECK(c.kind == AuthStep::Kind::Failure);
  CHECK(c.reason.find("md5") != std::string::npos);
}

TEST_CASE("BackendAuthenticator: SASL mechanism selection") {
  protocol::AuthenticationRequest r = request_of(kSasl);
  SUBCASE("SCRAM-SHA-256 not offered") {
    r.sasl_mechanisms = {"SCRAM-SHA-256-PLUS", "OAUTHBEARER"};
    BackendAuthenticator client(with_password("u", "pw"));
    AuthStep step = client.on_request(r);
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.out.empty());
  }
  SUBCASE("nothing offered") {
    BackendAuthenticator client(with_password("u", "pw"));
    CHECK(client.on_request(r).kind == AuthStep::Kind::Failure);
  }
  SUBCASE("offered among others: picks SCRAM-SHA-256 without channel binding") {
    r.sasl_mechanisms = {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"};
    BackendAuthenticator client(with_password("u", "pw"));
    AuthStep step = client.on_request(r);
    REQUIRE(step.kind == AuthStep::Kind::Send);
    const Bytes body = password_body(step.out);
    auto initial = protocol::decode_sasl_initial_response(body);
    REQUIRE(initial);
    CHECK(initial->mechanism == "SCRAM-SHA-256");
    CHECK(as_chars(initial->data).starts_with("n,,n=,r="));
  }
  SUBCASE("no usable credential") {
    r.sasl_mechanisms = {"SCRAM-SHA-256"};
    BackendAuthenticator client(
        BackendCredentials::from_secret("u", protocol::md5_stored_hash("pw", "u"), std::nullopt));
    CHECK(client.on_request(r).kind == AuthStep::Kind::Failure);
  }
}

TEST_CASE("BackendAuthenticator: SASL messages out of order fail") {
  const std::string data = "r=abc,s=c2FsdA==,i=4096";
  protocol::AuthenticationRequest cont = request_of(kSaslContinue);
  cont.sasl_data = as_bytes(data);
  protocol::AuthenticationRequest fin = request_of(kSaslFinal);
  fin.sasl_data = as_bytes("v=");

  SUBCASE("SASLContinue before SASL") {
    BackendAuthenticator client(with_password("u", "pw"));
    AuthStep step = client.on_request(cont);
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.reason.find("unexpected") != std::string::npos);
  }
  SUBCASE("SASLFinal before SASL") {
    BackendAuthenticator client(with_password("u", "pw"));
    CHECK(client.on_request(fin).kind == AuthStep::Kind::Failure);
  }
  SUBCASE("SASLFinal right after SASL, skipping SASLContinue") {
    BackendAuthenticator client(with_password("u", "pw"));
    protocol::AuthenticationRequest sasl = request_of(kSasl);
    sasl.sasl_mechanisms = {"SCRAM-SHA-256"};
    REQUIRE(client.on_request(sasl).kind == AuthStep::Kind::Send);
    CHECK(client.on_request(fin).kind == AuthStep::Kind::Failure);
  }
  SUBCASE("SASLContinue whose nonce does not extend ours") {
    BackendAuthenticator client(with_password("u", "pw"));
    protocol::AuthenticationRequest sasl = request_of(kSasl);
    sasl.sasl_mechanisms = {"SCRAM-SHA-256"};
    REQUIRE(client.on_request(sasl).kind == AuthStep::Kind::Send);
    AuthStep step = client.on_request(cont);
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.reason.starts_with("SCRAM: "));
  }
}

TEST_CASE("BackendAuthenticator: unsupported request codes fail") {
  BackendAuthenticator client(with_password("u", "pw"));
  for (std::int32_t code : {2, 7, 8, 9, 13, -1}) {
    CAPTURE(code);
    AuthStep step = client.on_request(request_of(code));
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.reason.find(std::to_string(code)) != std::string::npos);
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed password messages: Failure, never a crash, never Success.

namespace {

Bytes initial_response(std::string_view mechanism, std::string_view data) {
  Bytes msg;
  protocol::encode_sasl_initial_response(msg, mechanism, data);
  return password_body(msg);
}

Bytes raw(std::initializer_list<int> bytes) {
  Bytes out;
  for (int b : bytes) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

Bytes concat(Bytes a, const Bytes& b) {
  append(a, b);
  return a;
}

}  // namespace

TEST_CASE("password message before start() or after the end is refused") {
  auto alice = user("alice", "secret");
  ClientAuthenticator server(AuthType::Md5, "alice", alice, std::nullopt, kMockSalt);
  CHECK(server.on_password_message(bytes_of(std::string("x\0", 2))).kind == AuthStep::Kind::Failure);

  ClientAuthenticator done(AuthType::Md5, "alice", alice, std::nullopt, kMockSalt);
  done.start();
  CHECK(done.on_password_message(bytes_of("garbage")).kind == AuthStep::Kind::Failure);
  // After a failure the exchange is over, even for a well-formed message.
  CHECK(done.on_password_message(bytes_of(std::string("md5\0", 4))).kind == AuthStep::Kind::Failure);
}

TEST_CASE("malformed md5 password messages fail") {
  auto bob = user("bob", "hunter2");
  const std::vector<Bytes> bodies = {
      {},
      bytes_of("no terminator"),
      bytes_of(std::string("md5abc\0trailing", 15)),
      bytes_of(std::string("\0\0", 2)),
  };
  for (const Bytes& body : bodies) {
    CAPTURE(body.size());
    ClientAuthenticator server(AuthType::Md5, "bob", bob, std::nullopt, kMockSalt);
    REQUIRE(server.start().kind == AuthStep::Kind::Send);
    AuthStep step = server.on_password_message(body);
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.out.empty());
  }
}

TEST_CASE("malformed SASLInitialResponse bodies fail") {
  auto alice = user("alice", "secret");
  const auto verifier = ScramVerifier::from_password("secret", "salt-salt-salt");
  const std::vector<Bytes> bodies = {
      {},
      bytes_of("SCRAM-SHA-256"),                                      // no terminator
      concat(bytes_of(std::string("SCRAM-SHA-256\0", 14)), raw({0, 0})),  // short length
      concat(bytes_of(std::string("SCRAM-SHA-256\0", 14)), raw({0, 0, 3, 0xe8, 'n', ','})),  // length > rest
      concat(bytes_of(std::string("SCRAM-SHA-256\0", 14)), raw({0xff, 0xff, 0xff, 0xff})),  // -1: no data
      concat(bytes_of(std::string("SCRAM-SHA-256\0", 14)), raw({0xff, 0xff, 0xff, 0xfb, 'n'})),  // -5
      concat(initial_response("SCRAM-SHA-256", "n,,n=,r=abc"), bytes_of("junk")),  // trailing bytes
      initial_response("SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc"),
      initial_response("PLAIN", "n,,n=,r=abc"),
      initial_response("SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc"),
      initial_response("SCRAM-SHA-256", "n,a=admin,n=,r=abc"),
      initial_response("SCRAM-SHA-256", "n,,n=,r="),
      initial_response("SCRAM-SHA-256", "n,,r=abc"),
      initial_response("SCRAM-SHA-256", "n,,m=ext,n=,r=abc"),
      initial_response("SCRAM-SHA-256", ""),
      initial_response("SCRAM-SHA-256", std::string("n,,n=,r=a\x01", 10)),
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    CAPTURE(i);
    ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
    REQUIRE(server.start().kind == AuthStep::Kind::Send);
    AuthStep step = server.on_password_message(bodies[i]);
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.out.empty());
    CHECK_FALSE(server.scram_keys().has_value());
  }
}

TEST_CASE("malformed or forged SASLResponse bodies fail") {
  auto alice = user("alice", "secret");
  const auto verifier = ScramVerifier::from_password("secret", "salt-salt-salt");
  const std::string client_nonce = "clientnonce";

  auto at_final_stage = [&](ClientAuthenticator& server) {
    REQUIRE(server.start().kind == AuthStep::Kind::Send);
    AuthStep step = server.on_password_message(initial_response("SCRAM-SHA-256", "n,,n=,r=" + client_nonce));
    REQUIRE(step.kind == AuthStep::Kind::Send);
    auto messages = split(step.out);
    REQUIRE(messages.size() == 1);
    auto request = protocol::decode_authentication(messages[0].body);
    REQUIRE(request);
    REQUIRE(request->code == kSaslContinue);
    const std::string data(as_chars(request->sasl_data));
    REQUIRE(data.starts_with("r=" + client_nonce));
    return data.substr(2, data.find(',') - 2);  // the combined nonce
  };

  ClientAuthenticator probe(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
  const std::string nonce = at_final_stage(probe);
  CHECK(nonce.size() > client_nonce.size());

  const std::string zero_proof = "p=" + protocol::base64_encode(std::string(32, '\0'));
  const std::vector<std::string> bodies = {
      "",
      "garbage",
      "c=biws,r=" + nonce,                               // no proof
      "c=biws,r=" + nonce + "," + zero_proof,           // wrong proof
      "c=biws,r=" + nonce + "x," + zero_proof,          // nonce mismatch
      "c=biws,r=" + client_nonce + "," + zero_proof,    // only the client's nonce
      "c=eSws,r=" + nonce + "," + zero_proof,           // channel binding flag differs (y,,)
      "c=biws,r=" + nonce + ",p=AAAA",                  // proof too short
      "c=biws,r=" + nonce + ",p=!!!",                   // proof not base64
      "r=" + nonce + ",c=biws," + zero_proof,           // wrong order
      std::string("c=biws,r=") + nonce + "," + zero_proof + std::string("\0", 1),
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    CAPTURE(i);
    ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
    at_final_stage(server);
    AuthStep step = server.on_password_message(bytes_of(bodies[i]));
    CHECK(step.kind == AuthStep::Kind::Failure);
    CHECK(step.out.empty());
    CHECK_FALSE(server.scram_keys().has_value());
    // The exchange is over: nothing more is accepted.
    CHECK(server.on_password_message(bytes_of(bodies[i])).kind == AuthStep::Kind::Failure);
  }
}

TEST_CASE("random password-message bodies at every stage never succeed and never crash") {
  auto alice = user("alice", "secret");
  const auto verifier = ScramVerifier::from_password("secret", "salt-salt-salt");
  std::mt19937 rng(20240531);
  auto random_body = [&] {
    Bytes b(rng() % 64);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng() % 4 == 0 ? "n,=r"[rng() % 4] : rng());
    return b;
  };
  int failures = 0;
  for (int i = 0; i < 300; ++i) {
    const AuthType type = i % 2 ? AuthType::Md5 : AuthType::ScramSha256;
    ClientAuthenticator server(type, "alice", alice, verifier, kMockSalt);
    REQUIRE(server.start().kind == AuthStep::Kind::Send);
    if (type == AuthType::ScramSha256 && i % 4 == 0) {
      // Reach the final stage first.
      REQUIRE(server.on_password_message(initial_response("SCRAM-SHA-256", "n,,n=,r=xyz")).kind ==
              AuthStep::Kind::Send);
    }
    AuthStep step = server.on_password_message(random_body());
    CHECK(step.kind == AuthStep::Kind::Failure);
    failures += step.kind == AuthStep::Kind::Failure;
  }
  CHECK(failures == 300);
}

TEST_CASE("over TLS SCRAM-SHA-256-PLUS is offered; the mechanism and the gs2 flag must agree") {
  auto alice = user("alice", "secret");
  const auto verifier = ScramVerifier::from_password("secret", "0123456789abcdef");
  const Bytes end_point(32, 0x42);
  {
    ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt, end_point);
    auto messages = split(server.start().out);
    REQUIRE(messages.size() == 1);
    auto request = protocol::decode_authentication(messages[0].body);
    REQUIRE(request);
    CHECK(request->sasl_mechanisms == std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
    // A bound exchange with the proxy's end-point data succeeds.
    protocol::ScramClient client("secret", "clientnonce");
    client.bind_to_channel(std::string(end_point.begin(), end_point.end()));
    Bytes first;
    protocol::encode_sasl_initial_response(first, "SCRAM-SHA-256-PLUS", client.client_first());
    auto step = server.on_password_message(password_body(first));
    REQUIRE(step.kind == AuthStep::Kind::Send);
    auto continue_messages = split(step.out);
    auto continue_request = protocol::decode_authentication(continue_messages[0].body);
    REQUIRE(continue_request);
    auto final_message = client.handle_server_first(as_chars(continue_request->sasl_data));
    REQUIRE(final_message);
    Bytes final_bytes;
    protocol::encode_sasl_response(final_bytes, *final_message);
    CHECK(server.on_password_message(password_body(final_bytes)).kind == AuthStep::Kind::Success);
  }
  {
    // -PLUS named, but the client does not bind: refused.
    ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt, end_point);
    server.start();
    Bytes first;
    protocol::encode_sasl_initial_response(first, "SCRAM-SHA-256-PLUS", "n,,n=,r=abc");
    CHECK(server.on_password_message(password_body(first)).kind == AuthStep::Kind::Failure);
  }
  {
    // Without TLS, -PLUS is neither offered nor accepted.
    ClientAuthenticator server(AuthType::ScramSha256, "alice", alice, verifier, kMockSalt);
    auto plain_messages = split(server.start().out);
    auto request = protocol::decode_authentication(plain_messages[0].body);
    REQUIRE(request);
    CHECK(request->sasl_mechanisms == std::vector<std::string>{"SCRAM-SHA-256"});
    Bytes first;
    protocol::encode_sasl_initial_response(first, "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=,r=abc");
    CHECK(server.on_password_message(password_body(first)).kind == AuthStep::Kind::Failure);
  }
}
