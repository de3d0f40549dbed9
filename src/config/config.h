#pragma once
// The proxy's configuration as plain structs. Loading (YAML, ${ENV} substitution, validation
// with file:line:column errors) is in config_loader.h; nothing here touches I/O.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ouroboros::config {

using Duration = std::chrono::milliseconds;

enum class PoolMode { Session, Transaction, Statement };
enum class AuthType { ScramSha256, Md5, Trust };
enum class LogFormat { Text, Json };

struct ListenConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6432;
};

struct UserConfig {
  std::string name;
  // As written (after ${ENV} substitution): plain text, "md5<32 hex>" or "SCRAM-SHA-256$...".
  std::string password;
  std::optional<PoolMode> pool_mode;  // per-user override of the database's mode
};

struct AuthConfig {
  AuthType type = AuthType::ScramSha256;
  std::map<std::string, UserConfig> users;  // by user name
};

// Pool settings; the top-level `pool:` block gives defaults, each database may override any key.
struct PoolSettings {
  PoolMode mode = PoolMode::Session;
  std::size_t size = 20;  // server connections per (database, user) pool
};

struct DatabaseConfig {
  std::string name;        // what clients ask for; "*" = any other name
  std::string host = "127.0.0.1";
  std::uint16_t port = 5432;
  std::string dbname;      // backend database; empty = the name the client asked for
  std::optional<std::string> user;      // backend user; unset = the client's user
  std::optional<std::string> password;  // backend password; unset = the client's from auth.users
  PoolSettings pool;       // defaults merged with this database's overrides
};

struct LoggingConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  LogFormat format = LogFormat::Text;
};

// Safety limits and connection timeouts.
struct LimitsConfig {
  std::size_t max_message_size = 64u << 20;  // largest client message the proxy buffers
  std::size_t max_client_connections = 1000;
  std::size_t buffer_high_water = 1u << 20;  // pause the reading side above this many queued bytes
};

struct TimeoutsConfig {
  Duration client_login_timeout = std::chrono::seconds(60);
  Duration server_connect_timeout = std::chrono::seconds(15);
};

struct Config {
  std::string source_file;  // path it was loaded from ("" when parsed from a string)
  ListenConfig listen;
  AuthConfig auth;
  PoolSettings pool;  // the defaults, as written
  std::map<std::string, DatabaseConfig> databases;  // by client-facing name, may hold "*"
  LoggingConfig logging;
  LimitsConfig limits;
  TimeoutsConfig timeouts;

  // The database entry for a client-facing name: exact match, else "*" (with dbname = name).
  std::optional<DatabaseConfig> find_database(const std::string& name) const;
};

}  // namespace ouroboros::config
