#pragma once
// Host-based rules in pg_hba.conf syntax (auth.hba_file): which client may log in to which
// database as which user, from where, and with which authentication method. Pure: parsing a
// file's text and matching a connection's facts; no sockets, no files opened here.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ouroboros::config {

enum class HbaConnectionType { Local, Host, HostSsl, HostNoSsl };
enum class HbaMethod { Trust, Reject, Md5, ScramSha256, Cert };

// An IPv4 or IPv6 network (4 or 16 bytes used). As in PostgreSQL, an IPv4 rule matches only
// IPv4 clients and an IPv6 rule only IPv6 clients.
struct HbaNetwork {
  bool ipv6 = false;
  std::array<std::uint8_t, 16> address{};  // already masked
  std::array<std::uint8_t, 16> mask{};
  // `ip` in text form ("127.0.0.1", "::1"); false for anything that is not an address.
  bool contains(const std::string& ip) const;
};

// A database or user column: "all", or a list of names ("sameuser" in the database column).
struct HbaNameList {
  bool all = false;
  bool same_user = false;  // database column only: the database named like the user
  std::vector<std::string> names;
};

struct HbaRule {
  int line = 0;
  HbaConnectionType type = HbaConnectionType::Host;
  HbaNameList databases;
  HbaNameList users;
  std::optional<HbaNetwork> network;  // unset: "all" addresses (and every local rule)
  HbaMethod method = HbaMethod::Reject;
};

struct HbaRules {
  std::string file;
  std::vector<HbaRule> rules;
};

struct HbaError {
  int line = 0;
  std::string message;
};

struct HbaParseResult {
  HbaRules rules;
  std::vector<HbaError> errors;  // empty when every line is valid
};

HbaParseResult parse_hba(std::string_view text, std::string file);

// What the proxy knows about a client connection when its startup packet arrives.
struct ConnectionFacts {
  bool is_unix = false;                       // came in on listen.unix_socket_dir
  bool is_tls = false;                        // TLS negotiated (the TLS branch sets it)
  std::string peer_ip;                        // "127.0.0.1", "::1"; empty for Unix sockets
  std::optional<std::string> client_cert_cn;  // CN of a verified client certificate
};

// The first rule matching the connection, or null (no rule: refused).
const HbaRule* match_hba(const HbaRules& rules, const ConnectionFacts& facts,
                         const std::string& database, const std::string& user);

// PostgreSQL's FATAL texts (SQLSTATE 28000) for a reject line and for no matching line.
std::string hba_reject_message(const ConnectionFacts& facts, const std::string& database,
                               const std::string& user);
std::string hba_no_entry_message(const ConnectionFacts& facts, const std::string& database,
                                 const std::string& user);

// The `cert` method: the verified certificate's CN must equal the user name.
bool cert_accepts(const ConnectionFacts& facts, const std::string& user);

std::string_view hba_method_name(HbaMethod method);

}  // namespace ouroboros::config
