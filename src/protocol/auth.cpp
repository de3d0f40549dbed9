#include "protocol/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <utility>
#include <vector>

// Passwords are used as raw bytes, without SASLprep. PostgreSQL applies SASLprep when the password
// is valid UTF-8 without prohibited characters and falls back to the raw bytes otherwise, so the
// two agree for every ASCII password; they can differ only for non-ASCII passwords that SASLprep
// would normalize (NFKC, non-ASCII spaces, "mapped to nothing" characters).

namespace ouroboros::protocol {
namespace {

constexpr std::string_view kScramPrefix = "SCRAM-SHA-256$";
constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string_view view_of(const Key32& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

// OpenSSL takes int lengths; inputs that do not fit are rejected rather than truncated.
bool fits_int(std::size_t n) {
  return n <= static_cast<std::size_t>(INT_MAX);
}

bool hmac_sha256(std::string_view key, std::string_view data, Key32& out) {
  if (!fits_int(key.size())) return false;
  unsigned int len = 0;
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes_of(data), data.size(),
              out.data(), &len) != nullptr &&
         len == out.size();
}

bool digest(const EVP_MD* md, std::string_view data, unsigned char* out, unsigned int expected) {
  unsigned int len = 0;
  return EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) == 1 && len == expected;
}

bool sha256(std::string_view data, Key32& out) {
  return digest(EVP_sha256(), data, out.data(), out.size());
}

Key32 xor_keys(const Key32& a, const Key32& b) {
  Key32 out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] ^ b[i];
  return out;
}

std::string hex_lower(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xF]);
  }
  return out;
}

std::string md5_hex(std::string_view data) {
  unsigned char out[16];
  if (!digest(EVP_md5(), data, out, sizeof out)) return {};
  return hex_lower(out, sizeof out);
}

std::optional<Key32> decode_key(std::string_view b64) {
  auto raw = base64_decode(b64);
  if (!raw || raw->size() != Key32{}.size()) return std::nullopt;
  Key32 key{};
  std::memcpy(key.data(), raw->data(), key.size());
  return key;
}

// Strict positive decimal int: no sign, no spaces, no overflow.
std::optional<int> parse_positive_int(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || text.front() == '+' || text.front() == '-' || ec != std::errc{} ||
      ptr != end || value < 1) {
    return std::nullopt;
  }
  return value;
}

// RFC 5802 "printable": %x21-7E except ','. Nonces are embedded in comma-separated messages.
bool is_valid_nonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  }
  return true;
}

// One "x=value" attribute of a SCRAM message.
struct Attribute {
  char name = 0;
  std::string_view value;
};

// Splits a SCRAM message into attributes; nullopt when any part is not "<letter>=...".
std::optional<std::vector<Attribute>> split_attributes(std::string_view message) {
  std::vector<Attribute> out;
  while (true) {
    std::size_t comma = message.find(',');
    std::string_view part = message.substr(0, comma);
    if (part.size() < 2 || part[1] != '=' ||
        !((part[0] >= 'a' && part[0] <= 'z') || (part[0] >= 'A' && part[0] <= 'Z'))) {
      return std::nullopt;
    }
    out.push_back({part[0], part.substr(2)});
    if (comma == std::string_view::npos) return out;
    message.remove_prefix(comma + 1);
  }
}

// SaltedPassword and the two keys derived from it (RFC 5802 section 3).
bool derive_keys(std::string_view password, std::string_view salt, int iterations,
                 Key32& client_key, Key32& server_key) {
  if (iterations < 1 || !fits_int(password.size()) || !fits_int(salt.size())) return false;
  Key32 salted{};
  bool ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes_of(salt),
                              static_cast<int>(salt.size()), iterations, EVP_sha256(),
                              static_cast<int>(salted.size()), salted.data()) == 1 &&
            hmac_sha256(view_of(salted), "Client Key", client_key) &&
            hmac_sha256(view_of(salted), "Server Key", server_key);
  OPENSSL_cleanse(salted.data(), salted.size());
  return ok;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// base64 (RFC 4648, standard alphabet, padded), written here so decoding can be strict: OpenSSL's
// EVP_DecodeBlock skips whitespace and does not report the padding length.

std::string base64_encode(std::string_view raw) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    std::uint32_t v = (std::uint32_t{static_cast<unsigned char>(raw[i])} << 16) |
                      (std::uint32_t{static_cast<unsigned char>(raw[i + 1])} << 8) |
                      static_cast<unsigned char>(raw[i + 2]);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  std::size_t rest = raw.size() - i;
  if (rest > 0) {
    std::uint32_t v = std::uint32_t{static_cast<unsigned char>(raw[i])} << 16;
    if (rest == 2) v |= std::uint32_t{static_cast<unsigned char>(raw[i + 1])} << 8;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::uint32_t sextet = 0;
    if (i >= text.size() - padding) {
      // Only the trailing '=' characters counted above may be padding.
      if (text[i] != '=') return std::nullopt;
    } else {
      std::size_t pos = kBase64Alphabet.find(text[i]);
      if (pos == std::string_view::npos) return std::nullopt;
      sextet = static_cast<std::uint32_t>(pos);
    }
    v = (v << 6) | sextet;
    if (i % 4 == 3) {
      out.push_back(static_cast<char>((v >> 16) & 0xFF));
      out.push_back(static_cast<char>((v >> 8) & 0xFF));
      out.push_back(static_cast<char>(v & 0xFF));
      v = 0;
    }
  }
  out.resize(out.size() - padding);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Lengths are public (fixed-size digests or encodings of them); only the contents are secret.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_nonce(std::size_t bytes) {
  std::string raw(bytes, '\0');
  // An empty nonce is the failure signal: ScramServer and ScramClient refuse to run with one.
  if (!fits_int(bytes) ||
      RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return {};
  }
  return base64_encode(raw);
}

// ---------------------------------------------------------------------------------------------
// md5

std::string md5_stored_hash(std::string_view password, std::string_view user) {
  std::string input(password);
  input.append(user);
  std::string hex = md5_hex(input);
  OPENSSL_cleanse(input.data(), input.size());
  return hex.empty() ? std::string{} : "md5" + hex;
}

std::string md5_response_from_hash(std::string_view stored_hash, const std::uint8_t salt[4]) {
  // An empty response (never a valid one) tells the caller the stored hash was not md5.
  if (!is_md5_hash(stored_hash)) return {};
  std::string input(stored_hash.substr(3));
  input.append(reinterpret_cast<const char*>(salt), 4);
  std::string hex = md5_hex(input);
  return hex.empty() ? std::string{} : "md5" + hex;
}

bool is_md5_hash(std::string_view secret) {
  if (secret.size() != 35 || !secret.starts_with("md5")) return false;
  for (char c : secret.substr(3)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Only the prefix, as PostgreSQL's own classification does; parse() says whether it is well formed.
bool is_scram_verifier(std::string_view secret) {
  return secret.starts_with(kScramPrefix);
}

// ---------------------------------------------------------------------------------------------
// ScramVerifier

std::optional<ScramVerifier> ScramVerifier::parse(std::string_view text) {
  if (!text.starts_with(kScramPrefix)) return std::nullopt;
  text.remove_prefix(kScramPrefix.size());
  std::size_t colon1 = text.find(':');
  std::size_t dollar = text.find('$');
  if (colon1 == std::string_view::npos || dollar == std::string_view::npos || dollar < colon1) {
    return std::nullopt;
  }
  std::string_view keys = text.substr(dollar + 1);
  std::size_t colon2 = keys.find(':');
  if (colon2 == std::string_view::npos) return std::nullopt;

  auto iterations = parse_positive_int(text.substr(0, colon1));
  auto salt = base64_decode(text.substr(colon1 + 1, dollar - colon1 - 1));
  auto stored_key = decode_key(keys.substr(0, colon2));
  auto server_key = decode_key(keys.substr(colon2 + 1));
  if (!iterations || !salt || salt->empty() || !stored_key || !server_key) return std::nullopt;
  return ScramVerifier{*iterations, std::move(*salt), *stored_key, *server_key};
}

ScramVerifier ScramVerifier::from_password(std::string_view password, std::string_view salt,
                                           int iterations) {
  // No error channel here: on failure (iterations < 1, OpenSSL failure) the keys stay zero, and a
  // zero StoredKey is never the SHA-256 of anything, so the verifier accepts no password.
  ScramVerifier v;
  v.iterations = iterations;
  v.salt = std::string(salt);
  Key32 client_key{};
  Key32 server_key{};
  if (derive_keys(password, salt, iterations, client_key, server_key) &&
      sha256(view_of(client_key), v.stored_key)) {
    v.server_key = server_key;
  } else {
    v.stored_key = Key32{};
  }
  OPENSSL_cleanse(client_key.data(), client_key.size());
  return v;
}

std::string ScramVerifier::to_string() const {
  return std::string(kScramPrefix) + std::to_string(iterations) + ":" + base64_encode(salt) + "$" +
         base64_encode(view_of(stored_key)) + ":" + base64_encode(view_of(server_key));
}

// ---------------------------------------------------------------------------------------------
// ScramServer

ScramServer::ScramServer(ScramVerifier verifier, std::string server_nonce, std::string channel_binding)
    : verifier_(std::move(verifier)),
      server_nonce_(std::move(server_nonce)),
      channel_binding_(std::move(channel_binding)) {}

std::optional<std::string> ScramServer::handle_client_first(std::string_view message) {
  server_first_.clear();
  combined_nonce_.clear();
  if (!is_valid_nonce(server_nonce_)) {
    error_ = "server nonce is empty or not printable";
    return std::nullopt;
  }
  // gs2-header: cbind-flag "," [authzid] ","
  std::size_t flag_end = message.find(',');
  if (flag_end == std::string_view::npos) {
    error_ = "malformed client-first-message (gs2 channel binding flag)";
    return std::nullopt;
  }
  std::string_view flag = message.substr(0, flag_end);
  channel_bound_ = false;
  if (flag.starts_with("p=")) {
    if (channel_binding_.empty()) {
      error_ = "client requires channel binding, which is not offered";
      return std::nullopt;
    }
    if (flag != "p=tls-server-end-point") {
      error_ = "unsupported channel binding type (only tls-server-end-point)";
      return std::nullopt;
    }
    channel_bound_ = true;
  } else if (flag == "y" && !channel_binding_.empty()) {
    // RFC 5802: the client could have bound the exchange but thinks we cannot: a downgrade.
    error_ = "channel binding negotiation error (client supports it but did not use it)";
    return std::nullopt;
  } else if (flag != "n" && flag != "y") {
    error_ = "malformed client-first-message (gs2 channel binding flag)";
    return std::nullopt;
  }
  if (message.size() < flag_end + 2 || message[flag_end + 1] != ',') {
    // Like PostgreSQL: an authorization identity different from the user is not supported.
    error_ = "malformed client-first-message (authorization identity not supported)";
    return std::nullopt;
  }
  std::string_view bare = message.substr(flag_end + 2);
  auto attrs = split_attributes(bare);
  // client-first-message-bare: n=<user> "," r=<nonce> ["," extensions]; a leading m= would be a
  // mandatory extension we cannot honour. The user name is ignored (PostgreSQL sends it empty
  // and takes the user from the startup packet).
  if (!attrs || attrs->size() < 2 || (*attrs)[0].name != 'n' || (*attrs)[1].name != 'r') {
    error_ = "malformed client-first-message";
    return std::nullopt;
  }
  std::string_view client_nonce = (*attrs)[1].value;
  if (!is_valid_nonce(client_nonce)) {
    error_ = "malformed client-first-message (nonce)";
    return std::nullopt;
  }
  gs2_header_ = std::string(message.substr(0, flag_end + 2));
  client_first_bare_ = std::string(bare);
  combined_nonce_ = std::string(client_nonce) + server_nonce_;
  server_first_ = "r=" + combined_nonce_ + ",s=" + base64_encode(verifier_.salt) +
                  ",i=" + std::to_string(verifier_.iterations);
  error_.clear();
  return server_first_;
}

std::optional<std::string> ScramServer::handle_client_final(std::string_view message) {
  if (server_first_.empty()) {
    error_ = "client-final-message before a valid client-first-message";
    return std::nullopt;
  }
  // client-final-message: c=<cbind> "," r=<nonce> ["," extensions] "," p=<proof>; the proof is
  // last, and everything before ",p=" is signed.
  auto attrs = split_attributes(message);
  std::size_t proof_at = message.rfind(",p=");
  if (!attrs || attrs->size() < 3 || (*attrs)[0].name != 'c' || (*attrs)[1].name != 'r' ||
      attrs->back().name != 'p' || proof_at == std::string_view::npos) {
    error_ = "malformed client-final-message";
    return std::nullopt;
  }
  // c= is the gs2 header, followed by the channel binding data when the client bound to it.
  auto cbind = base64_decode((*attrs)[0].value);
  if (!cbind || *cbind != gs2_header_ + (channel_bound_ ? channel_binding_ : std::string())) {
    error_ = "channel binding data does not match the client-first-message";
    return std::nullopt;
  }
  if ((*attrs)[1].value != combined_nonce_) {
    error_ = "nonce does not match";
    return std::nullopt;
  }
  auto proof = decode_key(attrs->back().value);
  if (!proof) {
    error_ = "malformed client proof";
    return std::nullopt;
  }

  std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(message.substr(0, proof_at));
  Key32 client_signature{};
  Key32 recovered_stored_key{};
  Key32 server_signature{};
  if (!hmac_sha256(view_of(verifier_.stored_key), auth_message, client_signature) ||
      !hmac_sha256(view_of(verifier_.server_key), auth_message, server_signature)) {
    error_ = "HMAC computation failed";
    return std::nullopt;
  }
  Key32 client_key = xor_keys(*proof, client_signature);
  if (!sha256(view_of(client_key), recovered_stored_key) ||
      !constant_time_equal(view_of(recovered_stored_key), view_of(verifier_.stored_key))) {
    error_ = "password authentication failed (wrong client proof)";
    return std::nullopt;
  }
  keys_ = ScramClientKeys{client_key, verifier_.server_key};
  // One exchange per object: a replayed client-final must not succeed again.
  server_first_.clear();
  error_.clear();
  return "v=" + base64_encode(view_of(server_signature));
}

// ---------------------------------------------------------------------------------------------
// ScramClient

ScramClient::ScramClient(std::string password, std::string client_nonce)
    : password_(std::move(password)), client_nonce_(std::move(client_nonce)) {}

ScramClient::ScramClient(ScramClientKeys keys, std::string client_nonce)
    : keys_(keys), client_nonce_(std::move(client_nonce)) {}

std::string ScramClient::client_first() {
  // Empty user name as libpq sends it: PostgreSQL uses the startup packet's user.
  client_first_bare_ = "n=,r=" + client_nonce_;
  return gs2_header() + client_first_bare_;
}

std::string ScramClient::gs2_header() const {
  return channel_binding_.empty() ? std::string("n,,") : std::string("p=tls-server-end-point,,");
}

std::optional<std::string> ScramClient::handle_server_first(std::string_view message) {
  expected_server_signature_.clear();
  if (client_first_bare_.empty()) {
    error_ = "server-first-message before client_first()";
    return std::nullopt;
  }
  if (!is_valid_nonce(client_nonce_)) {
    error_ = "client nonce is empty or not printable";
    return std::nullopt;
  }
  // server-first-message: r=<nonce> "," s=<salt> "," i=<iterations> ["," extensions]
  auto attrs = split_attributes(message);
  if (!attrs || attrs->size() < 3 || (*attrs)[0].name != 'r' || (*attrs)[1].name != 's' ||
      (*attrs)[2].name != 'i') {
    error_ = "malformed server-first-message";
    return std::nullopt;
  }
  std::string_view nonce = (*attrs)[0].value;
  // The server must add its own part; echoing only ours would defeat replay protection.
  if (!nonce.starts_with(client_nonce_) || nonce.size() == client_nonce_.size() ||
      !is_valid_nonce(nonce)) {
    error_ = "server nonce does not extend the client nonce";
    return std::nullopt;
  }
  auto salt = base64_decode((*attrs)[1].value);
  if (!salt || salt->empty()) {
    error_ = "malformed server-first-message (salt)";
    return std::nullopt;
  }
  auto iterations = parse_positive_int((*attrs)[2].value);
  if (!iterations) {
    error_ = "malformed server-first-message (iteration count)";
    return std::nullopt;
  }

  ScramClientKeys keys{};
  if (keys_) {
    // Recovered keys already encode the salt and iteration count of the stored verifier.
    keys = *keys_;
  } else if (!derive_keys(*password_, *salt, *iterations, keys.client_key, keys.server_key)) {
    error_ = "key derivation failed";
    return std::nullopt;
  }

  std::string without_proof = "c=" + base64_encode(gs2_header() + channel_binding_) + ",r=" + std::string(nonce);
  std::string auth_message = client_first_bare_ + "," + std::string(message) + "," + without_proof;
  Key32 stored_key{};
  Key32 client_signature{};
  Key32 server_signature{};
  bool ok = sha256(view_of(keys.client_key), stored_key) &&
            hmac_sha256(view_of(stored_key), auth_message, client_signature) &&
            hmac_sha256(view_of(keys.server_key), auth_message, server_signature);
  Key32 proof = xor_keys(keys.client_key, client_signature);
  OPENSSL_cleanse(keys.client_key.data(), keys.client_key.size());
  if (!ok) {
    error_ = "HMAC computation failed";
    return std::nullopt;
  }
  expected_server_signature_ = std::string(view_of(server_signature));
  error_.clear();
  return without_proof + ",p=" + base64_encode(view_of(proof));
}

bool ScramClient::verify_server_final(std::string_view message) {
  if (expected_server_signature_.empty()) {
    error_ = "server-final-message before a valid server-first-message";
    return false;
  }
  // server-final-message: (e=<error> / v=<signature>) ["," extensions]
  auto attrs = split_attributes(message);
  if (attrs && (*attrs)[0].name == 'e') {
    error_ = "server reported error: " + std::string((*attrs)[0].value);
    return false;
  }
  if (!attrs || (*attrs)[0].name != 'v') {
    error_ = "malformed server-final-message";
    return false;
  }
  auto signature = base64_decode((*attrs)[0].value);
  if (!signature || !constant_time_equal(*signature, expected_server_signature_)) {
    error_ = "server signature is wrong";
    return false;
  }
  error_.clear();
  return true;
}

}  // namespace ouroboros::protocol
