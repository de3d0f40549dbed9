// Pool: lending connections under a size limit, with timeouts and health checks.
#include "ouroboros/pool.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>

namespace ouroboros {

struct PooledConnection::Shared {
  struct Idle {
    std::unique_ptr<Connection> connection;
    std::chrono::steady_clock::time_point since;
  };
  std::string dsn;
  PoolOptions options;
  mutable std::mutex mutex;
  std::condition_variable available;
  std::deque<Idle> idle;  // most recently returned at the back
  std::size_t open = 0;   // idle + lent + being connected

  void release(std::unique_ptr<Connection> connection) noexcept {
    const bool reusable = connection && connection->is_open() && !connection->in_transaction();
    {
      std::lock_guard lock(mutex);
      if (reusable) {
        idle.push_back({std::move(connection), std::chrono::steady_clock::now()});
      } else {
        --open;
      }
    }
    available.notify_one();
    // A connection not reused is closed here, outside the lock.
  }
};

PooledConnection::PooledConnection(std::shared_ptr<Shared> pool,
                                   std::unique_ptr<Connection> connection)
    : pool_(std::move(pool)), connection_(std::move(connection)) {}

PooledConnection::PooledConnection(PooledConnection&&) noexcept = default;

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = std::move(other.pool_);
    connection_ = std::move(other.connection_);
  }
  return *this;
}

PooledConnection::~PooledConnection() {
  give_back();
}

void PooledConnection::give_back() noexcept {
  if (pool_ && connection_) pool_->release(std::move(connection_));
  pool_.reset();
}

void PooledConnection::discard() noexcept {
  if (!pool_ || !connection_) return;
  connection_.reset();
  pool_->release(nullptr);
  pool_.reset();
}

Pool::Pool(std::string_view dsn, PoolOptions options)
    : shared_(std::make_shared<PooledConnection::Shared>()) {
  if (options.max_size == 0) throw UsageError("PoolOptions: max_size must be at least 1");
  options.connect.backoff.validate();
  shared_->dsn = std::string(dsn);
  shared_->options = std::move(options);
}

Pool::~Pool() = default;

PooledConnection Pool::acquire() {
  return acquire(shared_->options.acquire_timeout);
}

PooledConnection Pool::acquire(std::chrono::milliseconds timeout) {
  auto& s = *shared_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(s.mutex);
  while (true) {
    if (!s.idle.empty()) {
      PooledConnection::Shared::Idle entry = std::move(s.idle.back());
      s.idle.pop_back();
      lock.unlock();
      const bool check =
          std::chrono::steady_clock::now() - entry.since >= s.options.health_check_after;
      if (entry.connection->is_open() && (!check || entry.connection->ping()))
        return PooledConnection(shared_, std::move(entry.connection));
      entry.connection.reset();  // broken: close it and try again
      lock.lock();
      --s.open;
      continue;
    }
    if (s.open < s.options.max_size) {
      ++s.open;
      lock.unlock();
      try {
        auto connection = std::make_unique<Connection>(s.dsn, s.options.connect);
        return PooledConnection(shared_, std::move(connection));
      } catch (...) {
        lock.lock();
        --s.open;
        lock.unlock();
        s.available.notify_one();
        throw;
      }
    }
    if (s.available.wait_until(lock, deadline) == std::cv_status::timeout && s.idle.empty() &&
        s.open >= s.options.max_size) {
      throw PoolTimeout("no pooled connection became available within " +
                        std::to_string(timeout.count()) + " ms (all " +
                        std::to_string(s.options.max_size) + " in use)");
    }
  }
}

std::size_t Pool::size() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->open;
}

std::size_t Pool::idle() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->idle.size();
}

std::size_t Pool::max_size() const noexcept {
  return shared_->options.max_size;
}

}  // namespace ouroboros
