#pragma once
// Password authentication math: SCRAM-SHA-256 (RFC 5802 / 7677, as PostgreSQL uses it) for both
// the server side (authenticating clients) and the client side (logging in to PostgreSQL), and
// PostgreSQL's md5 scheme. Pure computation over OpenSSL; no I/O.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ouroboros::protocol {

using Key32 = std::array<std::uint8_t, 32>;

// What is stored for a user: a SCRAM verifier in PostgreSQL's format
// "SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>".
struct ScramVerifier {
  int iterations = 4096;
  std::string salt;  // raw bytes
  Key32 stored_key{};
  Key32 server_key{};

  static std::optional<ScramVerifier> parse(std::string_view text);
  static ScramVerifier from_password(std::string_view password, std::string_view salt,
                                     int iterations = 4096);
  std::string to_string() const;
  bool operator==(const ScramVerifier&) const = default;
};

// Keys that let the proxy log in to PostgreSQL as a client that proved itself with SCRAM, when
// only the verifier (not the password) is configured. Works when PostgreSQL stores the same
// verifier (same salt and iterations).
struct ScramClientKeys {
  Key32 client_key{};
  Key32 server_key{};
  bool operator==(const ScramClientKeys&) const = default;
};

// Server side of one SCRAM-SHA-256 exchange. With `channel_binding` (the tls-server-end-point
// data of the TLS connection: the hash of the server's certificate) the client may bind the
// exchange to the connection ("p=tls-server-end-point" gs2 header, SCRAM-SHA-256-PLUS); without
// it only "n,," and "y,," are accepted.
class ScramServer {
 public:
  // `nonce` is the server's random nonce part (printable, no ','), passed in for testability.
  ScramServer(ScramVerifier verifier, std::string server_nonce, std::string channel_binding = {});

  // client-first-message -> server-first-message, or nullopt if malformed.
  std::optional<std::string> handle_client_first(std::string_view message);
  // client-final-message -> server-final-message ("v=...") when the proof is right, nullopt if
  // the proof is wrong or the message malformed (then `error()` says which).
  std::optional<std::string> handle_client_final(std::string_view message);

  // After success: the client's keys (ClientKey recovered from the proof).
  const ScramClientKeys& client_keys() const { return keys_; }
  std::string_view error() const { return error_; }
  // After handle_client_first: the client bound the exchange to the TLS connection.
  bool channel_bound() const { return channel_bound_; }

 private:
  ScramVerifier verifier_;
  std::string server_nonce_;
  std::string channel_binding_;  // raw tls-server-end-point data; empty: not offered
  bool channel_bound_ = false;
  std::string gs2_header_;  // "n,,", "y,," or "p=tls-server-end-point,,": c= must repeat it
  std::string client_first_bare_;
  std::string server_first_;
  std::string combined_nonce_;
  ScramClientKeys keys_{};
  std::string error_;
};

// Client side of one SCRAM-SHA-256 exchange, with either the password or recovered keys.
class ScramClient {
 public:
  ScramClient(std::string password, std::string client_nonce);
  ScramClient(ScramClientKeys keys, std::string client_nonce);

  // Binds the exchange to a TLS connection (SCRAM-SHA-256-PLUS): `data` is its
  // tls-server-end-point data. Call before client_first().
  void bind_to_channel(std::string data) { channel_binding_ = std::move(data); }
  std::string client_first();  // "n,,n=,r=<nonce>" ("p=tls-server-end-point,,..." when bound)
  // server-first-message -> client-final-message, or nullopt (malformed, nonce mismatch).
  std::optional<std::string> handle_server_first(std::string_view message);
  // server-final-message: true when the server's signature is right.
  bool verify_server_final(std::string_view message);
  std::string_view error() const { return error_; }

 private:
  std::optional<std::string> password_;
  std::optional<ScramClientKeys> keys_;
  std::string gs2_header() const;
  std::string client_nonce_;
  std::string channel_binding_;
  std::string client_first_bare_;
  std::string expected_server_signature_;
  std::string error_;
};

// md5: stored form is "md5" + hex(md5(password + user)).
std::string md5_stored_hash(std::string_view password, std::string_view user);
// The string a client sends for AuthenticationMD5Password, from the stored hash.
std::string md5_response_from_hash(std::string_view stored_hash, const std::uint8_t salt[4]);
bool is_md5_hash(std::string_view secret);      // "md5" + 32 lowercase hex
bool is_scram_verifier(std::string_view secret);  // "SCRAM-SHA-256$..."

// Random printable nonce (base64 of `bytes` random bytes from OpenSSL's RAND_bytes).
std::string random_nonce(std::size_t bytes = 18);
bool constant_time_equal(std::string_view a, std::string_view b);

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ouroboros::protocol
