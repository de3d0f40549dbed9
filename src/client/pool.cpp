// Pool: lending connections under a size limit, FIFO waiting with direct hand-off, lifetimes,
// idle trimming, checks on lend and on return.
#include "ouroboros/pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace ouroboros {

using TimePoint = std::chrono::steady_clock::time_point;

struct PooledConnection::Lent {
  std::unique_ptr<Connection> connection;
  TimePoint expires;   // TimePoint::max() without a lifetime
  TimePoint returned;  // when it was last given back (or opened)
};

struct PooledConnection::Shared {
  // A thread queued in acquire(): it is handed either a connection or a free slot to connect in.
  struct Waiter {
    std::condition_variable ready;
    std::unique_ptr<Lent> handed;
    bool slot = false;
  };

  std::string dsn;
  PoolOptions options;
  mutable std::mutex mutex;
  std::deque<std::unique_ptr<Lent>> idle;  // least recently returned at the front
  std::deque<Waiter*> waiters;             // first come, first served
  std::size_t open = 0;                    // idle + lent + connecting
  std::size_t connecting = 0;
  std::uint64_t timeouts = 0, created = 0, closed = 0;
  // The maintenance thread.
  std::condition_variable stop_requested;
  bool stopping = false;
  std::thread maintenance;

  TimePoint now() const {
    return options.clock ? options.clock() : std::chrono::steady_clock::now();
  }

  bool expired(const Lent& lent, TimePoint at) const { return at >= lent.expires; }

  // Opens a connection (no lock held). Throws what Connection throws.
  std::unique_ptr<Lent> connect() {
    ConnectOptions connect_options = options.connect;
    if (options.connect_timeout.count() > 0)
      connect_options.connect_timeout = options.connect_timeout;
    connect_options.observers.insert(connect_options.observers.end(), options.observers.begin(),
                                     options.observers.end());
    auto lent = std::make_unique<Lent>();
    lent->connection = std::make_unique<Connection>(dsn, std::move(connect_options));
    const TimePoint born = now();
    lent->returned = born;
    lent->expires = TimePoint::max();
    if (options.max_lifetime.count() > 0) {
      const double shortened =
          1.0 - options.max_lifetime_jitter * detail::random_with(options.random);
      lent->expires = born + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 options.max_lifetime * shortened);
    }
    return lent;
  }

  // Under the lock: a reusable connection goes to the first waiter, else to the idle list.
  void put_back_locked(std::unique_ptr<Lent> lent) {
    if (!waiters.empty()) {
      Waiter* first = waiters.front();
      waiters.pop_front();
      first->handed = std::move(lent);
      first->ready.notify_one();
      return;
    }
    idle.push_back(std::move(lent));
  }

  // Under the lock: a slot became free (a connection was closed, or connecting failed). The first
  // waiter may connect in it; without waiters the pool shrinks.
  void free_slot_locked(bool a_connection_closed) {
    if (a_connection_closed) ++closed;
    if (!waiters.empty()) {
      Waiter* first = waiters.front();
      waiters.pop_front();
      first->slot = true;
      first->ready.notify_one();
      return;
    }
    --open;
  }

  // The check on return; true when the connection may be lent again. Never throws.
  bool check_on_return(Connection& connection) noexcept {
    try {
      if (!connection.is_open()) return false;
      switch (options.check_on_return) {
        case ReturnCheck::Close:
          if (connection.in_transaction()) return false;
          break;
        case ReturnCheck::Rollback:
          if (connection.in_transaction()) connection.reset(false);
          break;
        case ReturnCheck::DiscardAll:
          connection.reset(true);
          break;
      }
      return connection.is_open() && !connection.in_transaction();
    } catch (...) {
      return false;
    }
  }

  void release(std::unique_ptr<Lent> lent, bool discard) noexcept {
    bool reusable = !discard && lent && lent->connection && check_on_return(*lent->connection);
    const TimePoint at = now();
    if (reusable && expired(*lent, at)) reusable = false;
    std::unique_ptr<Lent> closing;
    {
      std::lock_guard lock(mutex);
      if (reusable) {
        lent->returned = at;
        put_back_locked(std::move(lent));
      } else {
        closing = std::move(lent);
        free_slot_locked(true);
      }
    }
    // A connection not reused is closed here, outside the lock.
  }

  bool maintain() {
    std::vector<std::unique_ptr<Lent>> closing;
    {
      std::lock_guard lock(mutex);
      const TimePoint at = now();
      const bool trim = options.idle_timeout.count() > 0;
      for (auto it = idle.begin(); it != idle.end();) {
        const bool too_long_idle =
            trim && idle.size() > options.min_idle && at - (*it)->returned >= options.idle_timeout;
        if (expired(**it, at) || too_long_idle) {
          closing.push_back(std::move(*it));
          it = idle.erase(it);
          free_slot_locked(true);
        } else {
          ++it;
        }
      }
    }
    closing.clear();  // closed outside the lock
    for (;;) {
      {
        std::lock_guard lock(mutex);
        if (idle.size() + connecting >= options.min_idle || open >= options.max_size) return true;
        ++open;
        ++connecting;
      }
      std::unique_ptr<Lent> lent;
      try {
        lent = connect();
      } catch (...) {
        std::lock_guard lock(mutex);
        --connecting;
        free_slot_locked(false);
        return false;
      }
      std::lock_guard lock(mutex);
      --connecting;
      ++created;
      put_back_locked(std::move(lent));
    }
  }
};

PooledConnection::PooledConnection(std::shared_ptr<Shared> pool, std::unique_ptr<Lent> lent)
    : pool_(std::move(pool)), lent_(std::move(lent)), connection_(lent_->connection.get()) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : pool_(std::move(other.pool_)),
      lent_(std::move(other.lent_)),
      connection_(std::exchange(other.connection_, nullptr)) {}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = std::move(other.pool_);
    lent_ = std::move(other.lent_);
    connection_ = std::exchange(other.connection_, nullptr);
  }
  return *this;
}

PooledConnection::~PooledConnection() {
  give_back();
}

void PooledConnection::give_back() noexcept {
  if (pool_ && lent_) pool_->release(std::move(lent_), false);
  pool_.reset();
  connection_ = nullptr;
}

void PooledConnection::discard() noexcept {
  if (pool_ && lent_) pool_->release(std::move(lent_), true);
  pool_.reset();
  connection_ = nullptr;
}

Pool::Pool(std::string_view dsn, PoolOptions options)
    : shared_(std::make_shared<PooledConnection::Shared>()) {
  options.validate();
  shared_->dsn = std::string(dsn);
  shared_->options = std::move(options);
  if (shared_->options.maintenance_interval.count() > 0) {
    PooledConnection::Shared* s = shared_.get();  // the thread is joined before s goes away
    s->maintenance = std::thread([s] {
      std::unique_lock lock(s->mutex);
      while (!s->stopping) {
        lock.unlock();
        s->maintain();
        lock.lock();
        s->stop_requested.wait_for(lock, s->options.maintenance_interval,
                                   [s] { return s->stopping; });
      }
    });
  }
}

Pool::~Pool() {
  {
    std::lock_guard lock(shared_->mutex);
    shared_->stopping = true;
  }
  shared_->stop_requested.notify_all();
  if (shared_->maintenance.joinable()) shared_->maintenance.join();
}

PooledConnection Pool::acquire() {
  return acquire(shared_->options.acquire_timeout);
}

PooledConnection Pool::acquire(std::chrono::milliseconds timeout) {
  using Shared = PooledConnection::Shared;
  Shared& s = *shared_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_ptr<PooledConnection::Lent> lent;  // without one, this thread owns a free slot
  std::unique_lock lock(s.mutex);
  if (s.waiters.empty() && !s.idle.empty()) {
    lent = std::move(s.idle.back());  // most recently returned: warm, least likely to be stale
    s.idle.pop_back();
  } else if (s.waiters.empty() && s.open < s.options.max_size) {
    ++s.open;
  } else {
    Shared::Waiter waiter;
    s.waiters.push_back(&waiter);
    if (!waiter.ready.wait_until(lock, deadline, [&] { return waiter.handed || waiter.slot; })) {
      s.waiters.erase(std::find(s.waiters.begin(), s.waiters.end(), &waiter));
      ++s.timeouts;
      throw PoolTimeout("no pooled connection became available within " +
                        std::to_string(timeout.count()) + " ms (all " +
                        std::to_string(s.options.max_size) + " in use)");
    }
    lent = std::move(waiter.handed);
  }
  lock.unlock();

  if (lent) {
    const TimePoint at = s.now();
    const bool check = at - lent->returned >= s.options.health_check_after;
    Connection& connection = *lent->connection;
    if (!s.expired(*lent, at) && connection.is_open() && (!check || connection.ping()))
      return PooledConnection(shared_, std::move(lent));
    lent.reset();  // expired or broken: close it and connect in its slot
    lock.lock();
    ++s.closed;
    lock.unlock();
  }
  lock.lock();
  ++s.connecting;
  lock.unlock();
  try {
    auto fresh = s.connect();
    lock.lock();
    --s.connecting;
    ++s.created;
    lock.unlock();
    return PooledConnection(shared_, std::move(fresh));
  } catch (...) {
    lock.lock();
    --s.connecting;
    s.free_slot_locked(false);
    throw;
  }
}

bool Pool::maintain() {
  return shared_->maintain();
}

PoolStats Pool::stats() const {
  const auto& s = *shared_;
  std::lock_guard lock(s.mutex);
  PoolStats stats;
  stats.open = s.open;
  stats.idle = s.idle.size();
  stats.connecting = s.connecting;
  stats.in_use = s.open - stats.idle - s.connecting;
  stats.waiting = s.waiters.size();
  stats.timeouts = s.timeouts;
  stats.created = s.created;
  stats.closed = s.closed;
  return stats;
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
