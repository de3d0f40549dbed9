#pragma once
// What the admin console may see and do in the proxy: plain snapshots (no references into live
// connections) and commands. The proxy implements it; tests use a fake.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ouroboros::admin {

using Microseconds = std::chrono::microseconds;
using SystemTime = std::chrono::system_clock::time_point;

struct PoolSnapshot {
  std::string database;  // client-facing name
  std::string user;
  std::string mode;      // "session" | "transaction" | "statement"
  std::size_t pool_size = 0, min_pool_size = 0, reserve_pool_size = 0;
  std::size_t clients_active = 0;   // linked to a server
  std::size_t clients_waiting = 0;  // queued for a server
  std::size_t clients_idle = 0;     // logged in, between transactions
  std::size_t servers_active = 0;   // linked to a client
  std::size_t servers_idle = 0;
  std::size_t servers_login = 0;    // connecting or logging in
  Microseconds max_wait{0};         // longest current wait
  bool paused = false;
  bool reachable = true;            // false while the last connection attempt failed and no server is up
  Microseconds backoff_delay{0};    // current reconnect delay (0 when not backing off)
  // Totals since start.
  std::uint64_t transactions = 0, queries = 0;
  std::uint64_t bytes_received = 0, bytes_sent = 0;  // from clients / to clients
  Microseconds transaction_time{0}, query_time{0}, wait_time{0};
  std::uint64_t server_connect_attempts = 0, server_connect_failures = 0;
};

struct DatabaseSnapshot {
  std::string name, host, dbname, user /* forced backend user or "" */, mode;
  std::uint16_t port = 0;
  std::size_t pool_size = 0, min_pool_size = 0, reserve_pool_size = 0, max_connections = 0;
  std::size_t current_connections = 0;
  bool paused = false;
};

struct ConnectionSnapshot {  // a client or a server
  std::string user, database;
  std::string state;         // clients: active | waiting | idle | login; servers: active | idle | login | used
  std::string address;       // peer ip
  std::uint16_t port = 0;
  SystemTime connect_time{}, request_time{};
  Microseconds wait{0};      // clients: current wait for a server
  std::uint64_t id = 0;      // the proxy's id
  std::uint64_t link = 0;    // id of the linked peer, 0 if none
  std::int32_t backend_pid = 0;  // servers
  std::string application_name;
  std::string tls_version;   // "TLSv1.3"; "" for plain text
  std::string tls_cipher;    // "TLS_AES_256_GCM_SHA384"; "" for plain text
  // Why the client keeps its server between transactions ("temporary table", "session advisory
  // lock", "WITH HOLD cursor", "LOAD"); for a server, its client's reason. "" when not pinned.
  std::string pinned;
};

struct QueryStatsSnapshot {  // per fingerprint, from the query-stats store
  std::string fingerprint;
  std::uint64_t calls = 0, errors = 0, rows = 0;
  Microseconds total_time{0}, max_time{0};
};

class ProxyView {
 public:
  virtual ~ProxyView() = default;
  virtual std::vector<PoolSnapshot> pools() const = 0;
  virtual std::vector<DatabaseSnapshot> databases() const = 0;
  virtual std::vector<ConnectionSnapshot> clients() const = 0;
  virtual std::vector<ConnectionSnapshot> servers() const = 0;
  virtual std::vector<std::pair<std::string, std::string>> config() const = 0;  // key, value (secrets hidden)
  virtual std::vector<QueryStatsSnapshot> query_stats() const = 0;
  virtual std::string version() const = 0;

  // Commands; each returns "" or an error message for the client. `database` empty = all.
  virtual std::string pause(const std::string& database) = 0;
  virtual std::string resume(const std::string& database) = 0;
  virtual std::string reconnect(const std::string& database) = 0;
  virtual std::string kill(const std::string& database) = 0;
  virtual std::string reload() = 0;
  virtual std::string shutdown() = 0;
};

}  // namespace ouroboros::admin
