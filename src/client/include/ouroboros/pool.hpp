// Pool: a thread-safe connection pool with a minimum of idle connections, lifetimes, idle
// trimming, checks on lend and on return, FIFO waiting and statistics.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ouroboros/connection.hpp"

namespace ouroboros {

// What the pool does with a connection given back.
enum class ReturnCheck {
  Close,       // reuse it only if it is idle (no transaction open); otherwise close it
  Rollback,    // roll back an open transaction, then reuse it
  DiscardAll,  // roll back, then DISCARD ALL (session state and prepared statements), then reuse
};

using PoolClock = std::function<std::chrono::steady_clock::time_point()>;

struct PoolOptions {
  std::size_t min_idle = 0;   // idle connections maintain() keeps open (never above max_size)
  std::size_t max_size = 10;  // open connections: idle, lent out and being connected
  // A connection is closed once it is this old (when idle or given back); each connection's
  // lifetime is shortened by a random fraction up to max_lifetime_jitter, so connections opened
  // together do not all expire together. 0: no limit.
  std::chrono::milliseconds max_lifetime{std::chrono::minutes(30)};
  double max_lifetime_jitter = 0.1;  // in [0, 1]
  // maintain() closes connections idle this long, down to min_idle. 0: never.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
  // Limit for one connection attempt (overrides connect.connect_timeout); 0: none. At least 2 s.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds acquire_timeout{5000};  // then acquire() throws PoolTimeout
  // A connection idle for at least this long is pinged before it is handed out (0: always);
  // a broken one is closed and replaced.
  std::chrono::milliseconds health_check_after{0};
  ReturnCheck check_on_return = ReturnCheck::Rollback;
  // How often a background thread runs maintain(). 0: no thread; the application calls
  // maintain() itself (tests do, with a fake clock).
  std::chrono::milliseconds maintenance_interval{std::chrono::seconds(30)};
  ConnectOptions connect{};  // for each new connection
  // Observers added to every connection of the pool (after connect.observers); shared by the
  // pool's threads, so they must be thread-safe.
  std::vector<std::shared_ptr<QueryObserver>> observers{};
  PoolClock clock{};        // empty: std::chrono::steady_clock::now
  RandomFunction random{};  // for the lifetime jitter; empty: a pseudo-random generator

  void validate() const;  // UsageError naming the first invalid setting
};

// A snapshot of the pool's counters.
struct PoolStats {
  std::size_t open = 0;  // idle + in_use + connecting
  std::size_t idle = 0;
  std::size_t in_use = 0;      // lent out
  std::size_t connecting = 0;  // being opened
  std::size_t waiting = 0;     // threads queued in acquire()
  std::uint64_t timeouts = 0;  // acquire() calls that threw PoolTimeout
  std::uint64_t created = 0;   // connections opened successfully
  std::uint64_t closed = 0;    // connections closed (expired, idle, broken, discarded)
};

class Pool;

// A connection lent by a Pool; goes back to the pool when destroyed (see ReturnCheck).
class PooledConnection {
 public:
  PooledConnection(PooledConnection&&) noexcept;
  PooledConnection& operator=(PooledConnection&&) noexcept;
  ~PooledConnection();

  Connection& operator*() const noexcept { return *connection_; }
  Connection* operator->() const noexcept { return connection_; }
  // Close the connection instead of returning it to the pool.
  void discard() noexcept;

  struct Shared;
  struct Lent;  // the connection and its birth and expiry times

 private:
  friend class Pool;
  PooledConnection(std::shared_ptr<Shared> pool, std::unique_ptr<Lent> lent);
  void give_back() noexcept;
  std::shared_ptr<Shared> pool_;
  std::unique_ptr<Lent> lent_;
  Connection* connection_ = nullptr;
};

class Pool {
 public:
  // Validates the options (UsageError); connects nothing yet (the maintenance thread, when
  // enabled, opens min_idle connections at once).
  explicit Pool(std::string_view dsn, PoolOptions options = {});
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Waits (first come, first served) up to options.acquire_timeout, then throws PoolTimeout.
  // Connecting errors (ConnectionError, AuthenticationError) propagate.
  PooledConnection acquire();
  PooledConnection acquire(std::chrono::milliseconds timeout);

  // Closes idle connections past their lifetime or idle_timeout (keeping min_idle), then opens
  // connections until min_idle are idle. Returns false if opening one failed.
  bool maintain();

  PoolStats stats() const;
  std::size_t size() const;  // open connections, idle and lent out
  std::size_t idle() const;
  std::size_t max_size() const noexcept;

 private:
  std::shared_ptr<PooledConnection::Shared> shared_;
};

}  // namespace ouroboros
