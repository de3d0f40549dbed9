// Pool: a small thread-safe connection pool with a size limit, an acquire timeout and health
// checks.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "ouroboros/connection.hpp"

namespace ouroboros {

struct PoolOptions {
  std::size_t max_size = 10;                        // open connections, idle and lent out
  std::chrono::milliseconds acquire_timeout{5000};  // then acquire() throws PoolTimeout
  // A connection idle for at least this long is pinged before it is handed out (0: always);
  // a broken one is closed and replaced.
  std::chrono::milliseconds health_check_after{0};
  ConnectOptions connect{};  // for each new connection
};

class Pool;

// A connection lent by a Pool; goes back to the pool when destroyed. A connection left inside a
// transaction or broken is closed instead of being reused.
class PooledConnection {
 public:
  PooledConnection(PooledConnection&&) noexcept;
  PooledConnection& operator=(PooledConnection&&) noexcept;
  ~PooledConnection();

  Connection& operator*() const noexcept { return *connection_; }
  Connection* operator->() const noexcept { return connection_.get(); }
  // Close the connection instead of returning it to the pool.
  void discard() noexcept;

 private:
  friend class Pool;
  struct Shared;
  PooledConnection(std::shared_ptr<Shared> pool, std::unique_ptr<Connection> connection);
  void give_back() noexcept;
  std::shared_ptr<Shared> pool_;
  std::unique_ptr<Connection> connection_;
};

class Pool {
 public:
  explicit Pool(std::string_view dsn, PoolOptions options = {});
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  PooledConnection acquire();  // waits up to options.acquire_timeout
  PooledConnection acquire(std::chrono::milliseconds timeout);

  std::size_t size() const;  // open connections, idle and lent out
  std::size_t idle() const;
  std::size_t max_size() const noexcept;

 private:
  std::shared_ptr<PooledConnection::Shared> shared_;
};

}  // namespace ouroboros
