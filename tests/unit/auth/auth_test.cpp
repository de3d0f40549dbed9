// SCRAM-SHA-256 and md5 math: published vectors, values produced by PostgreSQL 15 itself, full
// exchanges between our server and client sides, and hostile input.
#include "protocol/auth.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ouroboros::protocol;

namespace {

// RFC 7677 section 3.
constexpr const char* kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr const char* kRfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr const char* kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

// From a PostgreSQL 15.18 cluster: CREATE ROLE alice PASSWORD 'secret' with
// password_encryption = 'scram-sha-256', then SELECT rolpassword FROM pg_authid.
constexpr const char* kPostgresVerifier =
    "SCRAM-SHA-256$4096:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=:"
    "l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=";

ScramVerifier rfc_verifier() {
  return ScramVerifier::from_password("pencil", *base64_decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
}

// Runs a full exchange; returns true when both sides accept.
bool exchange(ScramServer& server, ScramClient& client) {
  auto server_first = server.handle_client_first(client.client_first());
  if (!server_first) return false;
  auto client_final = client.handle_server_first(*server_first);
  if (!client_final) return false;
  auto server_final = server.handle_client_final(*client_final);
  if (!server_final) return false;
  return client.verify_server_final(*server_final);
}

}  // namespace

TEST_CASE("base64 round trips and rejects invalid input") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("") == std::string());
  CHECK(base64_decode("Zg==") == std::string("f"));
  CHECK(base64_decode("Zm8=") == std::string("fo"));
  CHECK(base64_decode("Zm9vYmFy") == std::string("foobar"));
  CHECK(base64_decode("biws") == std::string("n,,"));
  CHECK(base64_decode("eSws") == std::string("y,,"));

  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    std::string raw = all.substr(0, n);
    CHECK(base64_decode(base64_encode(raw)) == raw);
  }

  for (const char* bad : {"Z", "Zg=", "Zg", "Z===", "====", "Zg=a", "Z=g=", "Zm9v\n", " Zm9v",
                          "Zm9v====", "Zm-v", "Zm_v", "Zm9*"}) {
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
}

TEST_CASE("constant_time_equal and random_nonce") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK(constant_time_equal("", ""));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));

  std::string a = random_nonce();
  std::string b = random_nonce();
  CHECK(a.size() == 24);  // base64 of 18 bytes
  CHECK(a != b);
  CHECK(base64_decode(a)->size() == 18);
  CHECK(a.find(',') == std::string::npos);
  CHECK(random_nonce(1).size() == 4);
}

TEST_CASE("md5 known vectors") {
  CHECK(md5_stored_hash("postgres", "postgres") == "md53175bce1d3201d16594cebf9d7eb3f9d");
  // From PostgreSQL 15: CREATE ROLE bob PASSWORD 'postgres' with password_encryption = 'md5'.
  CHECK(md5_stored_hash("postgres", "bob") == "md565170a859842ceb2930dc2fa1454af9d");

  const std::uint8_t salt[4] = {1, 2, 3, 0xff};
  // Expected value computed independently: md5(hex + salt) with Python's hashlib.
  CHECK(md5_response_from_hash("md53175bce1d3201d16594cebf9d7eb3f9d", salt) ==
        "md595dbf15869cfa4275c206bd41a26ce9d");
  CHECK(md5_response_from_hash("not a hash", salt).empty());

  CHECK(is_md5_hash("md53175bce1d3201d16594cebf9d7eb3f9d"));
  CHECK_FALSE(is_md5_hash("md53175BCE1d3201d16594cebf9d7eb3f9d"));
  CHECK_FALSE(is_md5_hash("md53175bce1d3201d16594cebf9d7eb3f9"));
  CHECK_FALSE(is_md5_hash("md53175bce1d3201d16594cebf9d7eb3f9dd"));
  CHECK_FALSE(is_md5_hash("xx53175bce1d3201d16594cebf9d7eb3f9d"));
  CHECK_FALSE(is_md5_hash("md53175bce1d3201d16594cebf9d7eb3f9g"));
  CHECK(is_scram_verifier(kPostgresVerifier));
  CHECK_FALSE(is_scram_verifier("md53175bce1d3201d16594cebf9d7eb3f9d"));
  CHECK_FALSE(is_scram_verifier("secret"));
}

TEST_CASE("verifier produced by PostgreSQL parses, prints back and matches the password") {
  auto v = ScramVerifier::parse(kPostgresVerifier);
  REQUIRE(v.has_value());
  CHECK(v->iterations == 4096);
  CHECK(v->salt.size() == 16);
  CHECK(v->to_string() == kPostgresVerifier);
  CHECK(ScramVerifier::from_password("secret", v->salt, 4096) == *v);
  CHECK_FALSE(ScramVerifier::from_password("Secret", v->salt, 4096) == *v);

  // The verifier authenticates a client that knows the password, and no other.
  ScramServer server(*v, "srvnonce");
  ScramClient good("secret", "clinonce");
  CHECK(exchange(server, good));
  ScramServer server2(*v, "srvnonce");
  ScramClient bad("wrong", "clinonce");
  CHECK_FALSE(exchange(server2, bad));
}

TEST_CASE("verifier parse/print round trip and malformed verifiers") {
  ScramVerifier v = ScramVerifier::from_password("pencil", "some salt bytes", 1234);
  auto parsed = ScramVerifier::parse(v.to_string());
  REQUIRE(parsed.has_value());
  CHECK(*parsed == v);

  const std::string good = kPostgresVerifier;
  std::vector<std::string> bad = {
      "",
      "SCRAM-SHA-256$",
      "SCRAM-SHA-1$4096:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=:"
      "l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=",
      "SCRAM-SHA-256$0:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=:"
      "l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=",
      "SCRAM-SHA-256$-1:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=:"
      "l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=",
      "SCRAM-SHA-256$99999999999:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d/MoWqdT+uTtIdX0/"
      "zcpWs6FOonuVe7nhbX"
      "I=:l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=",
      "SCRAM-SHA-256$4096:$9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=:"
      "l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=",
      "SCRAM-SHA-256$4096:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=",
      "SCRAM-SHA-256$4096:Ex8ztFAlKgeXcFSXwkQ6yg==$9cN8Q44d:l8zCZDHx04K5NEaS/"
      "7UYs3yNJ+gLn2ptLdI92GnoTkU=",
      "SCRAM-SHA-256$4096$Ex8ztFAlKgeXcFSXwkQ6yg==:9cN8Q44d/MoWqdT+uTtIdX0/zcpWs6FOonuVe7nhbXI=:"
      "l8zCZDHx04K5NEaS/7UYs3yNJ+gLn2ptLdI92GnoTkU=",
      good + "x",
      good + ":",
      good.substr(0, good.size() - 1),
  };
  for (const auto& text : bad) {
    CAPTURE(text);
    CHECK_FALSE(ScramVerifier::parse(text).has_value());
  }
  // Truncating the verifier at every position never yields a valid verifier, nor a crash.
  for (std::size_t n = 0; n < good.size(); ++n)
    CHECK_FALSE(ScramVerifier::parse(good.substr(0, n)));
}

TEST_CASE("RFC 7677 test vector, server side (client sends n=user)") {
  ScramServer server(rfc_verifier(), kRfcServerNonce);
  CHECK(server.handle_client_first(kRfcClientFirst) == std::string(kRfcServerFirst));
  CHECK(server.handle_client_final(kRfcClientFinal) == std::string(kRfcServerFinal));
  CHECK(server.error().empty());

  // Our client parses the RFC's server-first (its n= differs, so only the shape is comparable).
  ScramClient client("pencil", kRfcClientNonce);
  CHECK(client.client_first() == std::string("n,,n=,r=") + kRfcClientNonce);
  auto final_msg = client.handle_server_first(kRfcServerFirst);
  REQUIRE(final_msg);
  CHECK(final_msg->starts_with("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="));
  CHECK(final_msg->size() == std::string(kRfcClientFinal).size());

  // The recovered keys log in again, to a server holding the same verifier.
  ScramServer again(rfc_verifier(), "other");
  ScramClient with_keys(server.client_keys(), "n1");
  CHECK(exchange(again, with_keys));
  CHECK(server.client_keys().server_key == rfc_verifier().server_key);
}

TEST_CASE("full exchange with a password and with recovered keys") {
  ScramVerifier v = ScramVerifier::from_password("s3cr3t pa$$", "0123456789abcdef", 4096);
  ScramServer server(v, random_nonce());
  ScramClient client("s3cr3t pa$$", random_nonce());
  REQUIRE(exchange(server, client));
  ScramClientKeys keys = server.client_keys();
  CHECK(keys.server_key == v.server_key);

  // The proxy logs in to "PostgreSQL" (another server with the same verifier) with the keys only.
  ScramServer backend(v, random_nonce());
  ScramClient proxy(keys, random_nonce());
  CHECK(exchange(backend, proxy));
  CHECK(backend.client_keys() == keys);

  // Keys ignore the salt and iteration count a server announces, but a server with a different
  // verifier rejects them, and the client would reject that server's signature too.
  ScramServer other(ScramVerifier::from_password("s3cr3t pa$$", "different salt!!", 4096), "n");
  ScramClient proxy2(keys, "c");
  CHECK_FALSE(exchange(other, proxy2));
  CHECK(other.error() == "password authentication failed (wrong client proof)");
}

TEST_CASE("wrong password is rejected") {
  ScramServer server(ScramVerifier::from_password("right", "saltsalt", 4096), "srv");
  ScramClient client("wrong", "cli");
  auto sf = server.handle_client_first(client.client_first());
  REQUIRE(sf);
  auto cf = client.handle_server_first(*sf);
  REQUIRE(cf);
  CHECK_FALSE(server.handle_client_final(*cf));
  CHECK_FALSE(server.error().empty());
  CHECK(server.client_keys() == ScramClientKeys{});
}

TEST_CASE("y,, gs2 header is accepted, channel binding and authzid are not") {
  ScramServer server(rfc_verifier(), kRfcServerNonce);
  REQUIRE(server.handle_client_first("y,,n=,r=abc"));
  // c= must repeat the client's own gs2 header.
  CHECK_FALSE(server.handle_client_final("c=biws,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA"));
  CHECK(server.error() == "channel binding data does not match the client-first-message");

  ScramServer cb(rfc_verifier(), "x");
  CHECK_FALSE(cb.handle_client_first("p=tls-server-end-point,,n=,r=abc"));
  CHECK(cb.error().find("channel binding") != std::string_view::npos);

  ScramServer authz(rfc_verifier(), "x");
  CHECK_FALSE(authz.handle_client_first("n,a=admin,n=,r=abc"));
}

TEST_CASE("channel binding (tls-server-end-point): bound exchanges succeed only on the same channel") {
  const std::string end_point(32, '\x5a');
  ScramServer server(rfc_verifier(), "srv", end_point);
  ScramClient client("pencil", "cli");
  client.bind_to_channel(end_point);
  CHECK(client.client_first().starts_with("p=tls-server-end-point,,"));
  CHECK(exchange(server, client));
  CHECK(server.channel_bound());

  // Another certificate's hash (a man in the middle terminating TLS): the proof is refused.
  ScramServer other(rfc_verifier(), "srv", std::string(32, '\x11'));
  ScramClient bound("pencil", "cli");
  bound.bind_to_channel(end_point);
  CHECK_FALSE(exchange(other, bound));
  CHECK(other.error() == "channel binding data does not match the client-first-message");

  // Not bound: still fine ("n,,"), but "y,," claims we cannot bind, which we can: a downgrade.
  ScramServer plain(rfc_verifier(), "srv", end_point);
  ScramClient unbound("pencil", "cli");
  CHECK(exchange(plain, unbound));
  CHECK_FALSE(plain.channel_bound());
  ScramServer downgrade(rfc_verifier(), "srv", end_point);
  CHECK_FALSE(downgrade.handle_client_first("y,,n=,r=abc"));
  CHECK(downgrade.error().find("channel binding negotiation error") == 0);
  ScramServer other_type(rfc_verifier(), "srv", end_point);
  CHECK_FALSE(other_type.handle_client_first("p=tls-unique,,n=,r=abc"));
  CHECK(other_type.error().find("unsupported channel binding type") == 0);
}

TEST_CASE("server rejects malformed and tampered messages") {
  for (const char* first : {"", "n", "n,", "n,,", "x,,n=,r=abc", "n,,r=abc", "n,,n=,r=", "n,,n=",
                            "n,,m=ext,n=,r=abc", "n,,n=,r=a\x01", "n,,n=,,r=abc", "n,,n=,x=1"}) {
    CAPTURE(first);
    ScramServer server(rfc_verifier(), "srv");
    CHECK_FALSE(server.handle_client_first(first));
    CHECK_FALSE(server.error().empty());
  }

  // client-final before client-first.
  ScramServer early(rfc_verifier(), kRfcServerNonce);
  CHECK_FALSE(early.handle_client_final(kRfcClientFinal));

  // An empty or comma-containing server nonce (e.g. RAND failure) refuses to run.
  ScramServer no_nonce(rfc_verifier(), "");
  CHECK_FALSE(no_nonce.handle_client_first(kRfcClientFirst));
  ScramServer comma_nonce(rfc_verifier(), "a,b");
  CHECK_FALSE(comma_nonce.handle_client_first(kRfcClientFirst));

  const std::string final_msg = kRfcClientFinal;
  std::vector<std::string> bad_finals = {
      "",
      "c=biws",
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
      // Tampered nonce.
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      // Tampered proof (one bit).
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      // Proof of the wrong length / not base64.
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzb",
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=!!!",
      // Wrong channel binding data.
      "c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      // Order of attributes, missing proof, garbage.
      "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
      final_msg + ",x=1",
      final_msg + ",",
      "," + final_msg,
  };
  // A signed extension changes AuthMessage, so the (otherwise right) proof no longer verifies.
  bad_finals.push_back(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,x=1,"
      "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  for (std::size_t n = 0; n < final_msg.size(); ++n) bad_finals.push_back(final_msg.substr(0, n));
  for (const auto& text : bad_finals) {
    CAPTURE(text);
    ScramServer server(rfc_verifier(), kRfcServerNonce);
    REQUIRE(server.handle_client_first(kRfcClientFirst));
    CHECK_FALSE(server.handle_client_final(text));
    CHECK_FALSE(server.error().empty());
  }

  // A successful client-final cannot be replayed on the same exchange.
  ScramServer server(rfc_verifier(), kRfcServerNonce);
  REQUIRE(server.handle_client_first(kRfcClientFirst));
  REQUIRE(server.handle_client_final(kRfcClientFinal));
  CHECK_FALSE(server.handle_client_final(kRfcClientFinal));
}

TEST_CASE("client rejects malformed server-first and bad server signatures") {
  const std::string cn = "clientnonce";
  std::vector<std::string> bad_firsts = {
      "",
      "r=clientnonceSRV",
      "r=clientnonceSRV,s=c2FsdA==",
      "r=clientnonceSRV,s=c2FsdA==,i=0",
      "r=clientnonceSRV,s=c2FsdA==,i=-1",
      "r=clientnonceSRV,s=c2FsdA==,i=4096x",
      "r=clientnonceSRV,s=c2FsdA==,i=99999999999",
      "r=clientnonceSRV,s=c2FsdA==,i=",
      "r=clientnonceSRV,s=,i=4096",
      "r=clientnonceSRV,s=c2FsdA=,i=4096",
      "r=clientnonce,s=c2FsdA==,i=4096",      // server added nothing
      "r=clientnoncX SRV,s=c2FsdA==,i=4096",  // does not start with our nonce
      "r=otherSRV,s=c2FsdA==,i=4096",
      "r=clientnonceSRV,i=4096,s=c2FsdA==",
      "m=ext,r=clientnonceSRV,s=c2FsdA==,i=4096",
      "r=clientnonceSRV,s=c2FsdA==,i=4096,",
  };
  for (const auto& text : bad_firsts) {
    CAPTURE(text);
    ScramClient client("pw", cn);
    client.client_first();
    CHECK_FALSE(client.handle_server_first(text));
    CHECK_FALSE(client.error().empty());
  }

  // server-first before client_first(), and verify_server_final before server-first.
  ScramClient early("pw", cn);
  CHECK_FALSE(early.handle_server_first("r=clientnonceSRV,s=c2FsdA==,i=1"));
  CHECK_FALSE(early.verify_server_final("v=AAAA"));

  ScramVerifier v = ScramVerifier::from_password("pw", "salt", 16);
  for (const char* final_msg : {"", "v=", "v=AAAA", "e=invalid-proof", "x=1", "v",
                                "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="}) {
    CAPTURE(final_msg);
    ScramServer server(v, "srv");
    ScramClient client("pw", cn);
    auto sf = server.handle_client_first(client.client_first());
    REQUIRE(sf);
    auto cf = client.handle_server_first(*sf);
    REQUIRE(cf);
    REQUIRE(server.handle_client_final(*cf));
    CHECK_FALSE(client.verify_server_final(final_msg));
    CHECK_FALSE(client.error().empty());
  }

  // A server that knows the right StoredKey but not the ServerKey cannot pass as PostgreSQL.
  ScramVerifier impostor = v;
  impostor.server_key[0] ^= 1;
  ScramServer server(impostor, "srv");
  ScramClient client("pw", cn);
  CHECK_FALSE(exchange(server, client));
  CHECK(client.error() == "server signature is wrong");
}

TEST_CASE("from_password with an invalid iteration count verifies nothing") {
  ScramVerifier v = ScramVerifier::from_password("pw", "salt", 0);
  CHECK(v.stored_key == Key32{});
  CHECK_FALSE(ScramVerifier::parse(v.to_string()));
  ScramServer server(v, "srv");
  ScramClient client("pw", "cli");
  CHECK_FALSE(exchange(server, client));
}
