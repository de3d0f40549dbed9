#pragma once
// The proxy's configuration as plain structs. Loading (YAML, ${ENV} substitution, validation
// with file:line:column errors) is in config_loader.h; nothing here touches I/O.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/hba_rules.h"

namespace ouroboros::config {

using Duration = std::chrono::milliseconds;

enum class PoolMode { Session, Transaction, Statement };
// Transaction/statement mode, a statement that leaves state in the server session that cannot
// follow the client (temporary table, session advisory lock, WITH HOLD cursor, LOAD): Pin keeps
// the server with the client until that state is gone; Refuse answers it with SQLSTATE 0A000.
enum class SessionStatePolicy { Pin, Refuse };
enum class AuthType { ScramSha256, Md5, Trust };
enum class LogFormat { Text, Json };

// listen.tls: TLS towards clients.
enum class ClientTlsMode { Disable, Allow, Require };  // require: plain-text clients are refused
enum class ClientCertificate { None, Optional, Required };

struct ListenTlsConfig {
  ClientTlsMode mode = ClientTlsMode::Disable;
  std::string cert_file;  // required unless mode is disable
  std::string key_file;
  std::string ca_file;    // verifies client certificates; required unless client_certificate is none
  ClientCertificate client_certificate = ClientCertificate::None;
};

struct ListenConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6432;
  // Also listen on DIR/.s.PGSQL.<port> (Unix-domain socket); empty = no socket.
  std::string unix_socket_dir;
  ListenTlsConfig tls;
};

// databases.<name>.tls: TLS towards PostgreSQL, with libpq's sslmode meanings.
enum class ServerTlsMode { Disable, Allow, Prefer, Require, VerifyCa, VerifyFull };
// The configuration's names of the modes, which are libpq's sslmode values.
extern const std::initializer_list<std::pair<std::string_view, ServerTlsMode>> kServerTlsModes;
std::string_view sslmode_name(ServerTlsMode mode);

struct ServerTlsConfig {
  ServerTlsMode mode = ServerTlsMode::Disable;
  std::string ca_file;      // verify-ca/verify-full; "" = the system's trusted certificates
  std::string cert_file;    // optional client certificate (with key_file)
  std::string key_file;
  std::string server_name;  // SNI and the name verify-full checks; "" = the database's host
};

struct UserConfig {
  std::string name;
  // As written (after ${ENV} substitution): plain text, "md5<32 hex>" or "SCRAM-SHA-256$...".
  std::string password;
  std::optional<PoolMode> pool_mode;  // per-user override of the database's mode
};

// auth.query: users not in auth.users are looked up in PostgreSQL (pg_shadow by default) over a
// connection of their own, as `user`, and the answers cached for cache_ttl.
struct AuthQueryConfig {
  std::string user;
  std::string password;                 // plain or an md5 hash; may be empty (trust on the server)
  std::optional<std::string> database;  // backend database to run it in; unset = the client's
  std::string sql = "SELECT usename, passwd, valuntil FROM pg_shadow WHERE usename = $1";
  Duration cache_ttl = std::chrono::seconds(60);  // 0 = ask every time
};

struct AuthConfig {
  AuthType type = AuthType::ScramSha256;
  std::map<std::string, UserConfig> users;  // by user name
  // auth.hba_file (as written, relative paths resolved against the configuration file's
  // directory) and its rules, read when the configuration is loaded; unset = no host-based rules.
  std::string hba_file;
  std::optional<HbaRules> hba;
  std::optional<AuthQueryConfig> query;
};

// Retry delays after a failed server connection: initial, then multiplied up to max, each drawn
// at random from [d*(1-jitter), d*(1+jitter)] (and capped at max).
struct BackoffSettings {
  Duration initial = std::chrono::milliseconds(100);  // first retry delay; > 0
  Duration max = std::chrono::seconds(10);            // cap; >= initial
  double multiplier = 2.0;                            // >= 1.0
  double jitter = 0.2;                                // 0.0 .. 1.0
};

// Pool settings; the top-level `pool:` block gives defaults, each database may override any key
// (key by key, backoff's too). A zero duration marked "0 = ..." below disables that limit.
struct PoolSettings {
  PoolMode mode = PoolMode::Session;
  std::size_t size = 20;  // server connections per (database, user) pool
  std::size_t min_size = 0;                   // servers kept open (warm) even when idle; <= size
  std::size_t reserve_size = 0;               // extra servers allowed when a client waited longer than reserve_timeout
  Duration reserve_timeout = std::chrono::seconds(5);
  std::size_t max_db_connections = 0;         // per database, all users together; 0 = no limit
  std::size_t max_client_connections = 0;     // per database; 0 = no limit (the global one is limits.max_client_connections)
  Duration server_idle_timeout = std::chrono::minutes(10);   // 0 = never; idle servers above min_size closed after this
  Duration server_lifetime = std::chrono::hours(1);          // 0 = never; servers retired at the end of a transaction after this
  Duration server_check_delay = std::chrono::seconds(30);    // 0 = always check; idle longer than this -> checked before reuse
  Duration query_wait_timeout = std::chrono::seconds(120);   // 0 = wait forever; max time a client waits for a server
  Duration query_timeout = Duration::zero();                 // 0 = off; a query running longer is cancelled
  Duration idle_transaction_timeout = Duration::zero();      // 0 = off; a client idle inside a transaction longer is disconnected
  Duration client_idle_timeout = Duration::zero();           // 0 = off; a client idle (outside a transaction) longer is disconnected
  bool fail_fast = false;                     // while the backend is unreachable, fail waiting clients at once with the last error
  BackoffSettings backoff;
  // Transaction/statement mode: protocol-level prepared statements each server keeps (LRU);
  // 0 turns the statement cache off (named statements then only work in session mode).
  std::size_t max_prepared_statements = 200;
  // Transaction/statement mode: what state that cannot move to another server does (see
  // SessionStatePolicy). Session mode always keeps its server.
  SessionStatePolicy session_state = SessionStatePolicy::Pin;
};

struct DatabaseConfig {
  std::string name;        // what clients ask for; "*" = any other name
  std::string host = "127.0.0.1";
  std::uint16_t port = 5432;
  std::string dbname;      // backend database; empty = the name the client asked for
  std::optional<std::string> user;      // backend user; unset = the client's user
  std::optional<std::string> password;  // backend password; unset = the client's from auth.users
  PoolSettings pool;       // defaults merged with this database's overrides
  ServerTlsConfig tls;
};

struct LoggingConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  LogFormat format = LogFormat::Text;
  bool log_literals = false;   // statement text in query logs as written (passwords still redacted)
  Duration slow_query_threshold = Duration::zero();  // 0 = slow-query log off
};

// Automatic re-runs of autocommit statements that failed with a transient error.
struct RetryConfig {
  bool enabled = true;
  std::size_t max_attempts = 3;  // runs in all, the first included
  std::vector<std::string> sqlstates = {"40P01", "40001"};
  BackoffSettings backoff{std::chrono::milliseconds(10), std::chrono::seconds(1), 2.0, 0.5};
};

struct QueryStatsConfig {
  std::size_t max_fingerprints = 1000;  // distinct statements tracked (least total time dropped first)
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
  Duration shutdown_timeout = std::chrono::seconds(30);   // SIGTERM: how long running transactions may finish; 0 = close at once
};

// Prometheus /metrics, /healthz and /readyz.
struct MetricsConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9930;  // 0 = no HTTP listener
};

// The admin console (virtual database "ouroboros"): users from auth.users allowed in.
struct AdminConfig {
  std::vector<std::string> users;        // may run every command
  std::vector<std::string> stats_users;  // SHOW commands only
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
  MetricsConfig metrics;
  AdminConfig admin;
  RetryConfig retry;
  QueryStatsConfig query_stats;

  // The database entry for a client-facing name: exact match, else "*" (with dbname = name).
  std::optional<DatabaseConfig> find_database(const std::string& name) const;
};

}  // namespace ouroboros::config
