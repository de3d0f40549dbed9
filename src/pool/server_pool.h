#pragma once
// Bookkeeping for one pool of server connections (one per database and client user): which
// servers exist and in what state, which clients wait, who gets what, and when to (re)connect.
// No I/O: events go in with the current time, actions come out, so every decision (timeouts,
// backoff, limits) is unit-tested with a fake clock.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "pool/backoff.h"

namespace ouroboros::pool {

using ClientId = std::uint64_t;
using ServerId = std::uint64_t;

struct PoolLimits {
  std::size_t size = 20;          // servers (connecting + idle + in use) in normal operation
  std::size_t min_size = 0;       // kept open even when idle
  std::size_t reserve_size = 0;   // extra servers once a client has waited reserve_timeout
  Duration reserve_timeout = std::chrono::seconds(5);
  Duration server_idle_timeout = std::chrono::minutes(10);  // 0 = never
  Duration server_lifetime = std::chrono::hours(1);         // 0 = never
  Duration server_check_delay = std::chrono::seconds(30);   // idle longer -> checked before use
  Duration query_wait_timeout = std::chrono::seconds(120);  // 0 = wait forever
  bool fail_fast = false;  // while the backend is down, fail waiting clients at once
  BackoffPolicy backoff;
};

// Shared by the pools of one database so max_db_connections holds across users.
struct DatabaseCapacity {
  std::size_t max_connections = 0;  // 0 = no limit
  std::size_t open = 0;
  bool full() const { return max_connections != 0 && open >= max_connections; }
};

enum class FailReason {
  WaitTimeout,         // query_wait_timeout passed while the pool was saturated
  BackendUnavailable,  // the backend could not be reached (timeout or fail_fast)
  LoginRejected,       // the backend refused the login (bad credentials, no such database)
};

// Why a server could not be opened.
enum class ConnectFailure {
  Transient,           // network, timeout, server starting or overloaded: back off and retry
  Rejected,            // the backend refused the pool's login (credentials, database): all fail
  ParametersRejected,  // the backend refused one client's startup parameters: only those fail
};

struct PoolAction {
  enum class Kind {
    Assign,       // give `server` to `client`
    Connect,      // open server `server` with startup parameters `params_key`
    FailClient,   // `client` cannot be served (see `reason`)
    CloseServer,  // close `server` (idle timeout, lifetime, retirement)
  };
  Kind kind;
  ClientId client = 0;
  ServerId server = 0;
  std::string params_key;
  bool params_match = true;  // Assign: the server has the client's startup parameters
  bool needs_check = false;  // Assign: idle longer than server_check_delay, verify before use
  FailReason reason = FailReason::WaitTimeout;
};

class ServerPool {
 public:
  // `next_server_id` is shared by all pools of a loop so server ids are unique per loop.
  ServerPool(PoolLimits limits, ServerId& next_server_id, DatabaseCapacity& capacity, RandomSource& random)
      : limits_(limits), next_server_id_(next_server_id), capacity_(capacity), random_(random),
        backoff_(limits.backoff) {}
  ~ServerPool();
  ServerPool(const ServerPool&) = delete;
  ServerPool& operator=(const ServerPool&) = delete;

  using Actions = std::vector<PoolAction>;

  // A client wants a server. `params_key` identifies the startup parameters it needs ("" when
  // any server will do). `front` puts it ahead of other waiters (a retry after a failed check).
  void request(ClientId client, std::string params_key, TimePoint now, Actions& out, bool front = false);
  // request()'s usual case without an action: nobody waits, the pool is not paused, the newest
  // idle server has `params_key` (so the parameters match), and taking it leaves nothing for the
  // pool to do (no minimum size to refill). That server is handed out (as an Assign action would
  // say) and returned; nullopt changes nothing (call request()).
  struct Handout {
    ServerId server = 0;
    bool needs_check = false;
  };
  std::optional<Handout> take_idle(std::string_view params_key, TimePoint now);
  // The client left while waiting (or no longer needs a server). False when it was not waiting
  // (never queued, or already assigned a server).
  bool cancel_request(ClientId client);
  // A request made now would be served without waiting for another client: an idle server is
  // free, or the pool may open one (not paused, not backing off, below its size).
  bool can_serve_now(TimePoint now) const;
  // A server finished logging in.
  void server_ready(ServerId server, TimePoint now, Actions& out);
  // An assigned server is handed back; reusable = idle, clean and healthy. A server that is
  // not kept comes back as CloseServer.
  void release(ServerId server, bool reusable, TimePoint now, Actions& out);
  // A server could not be opened. Transient failures back off before the next attempt; a
  // rejection fails the waiting clients it concerns at once, since retrying will not help.
  void connect_failed(ServerId server, ConnectFailure failure, TimePoint now, Actions& out);
  // A server closed (idle death, error): forget it and refill.
  void remove(ServerId server, TimePoint now, Actions& out);
  // Timeouts, idle expiry, lifetime, min_size refill, the end of a backoff delay.
  void tick(TimePoint now, Actions& out);
  // Every server is closed as soon as it is idle (config reload changed the backend, RECONNECT).
  void retire_all(TimePoint now, Actions& out);

  void set_limits(PoolLimits limits, TimePoint now, Actions& out);
  // PAUSE: waiting clients get no server until resumed (running transactions go on).
  void set_paused(bool paused, TimePoint now, Actions& out);
  bool paused() const { return paused_; }
  const PoolLimits& limits() const { return limits_; }

  std::size_t total() const { return servers_.size(); }
  std::size_t idle_count() const { return idle_.size(); }
  std::size_t connecting_count() const { return connecting_; }
  std::size_t active_count() const { return servers_.size() - idle_.size() - connecting_; }
  std::size_t waiting_count() const { return waiters_.size(); }
  std::vector<ServerId> idle_servers() const { return idle_; }
  // Longest current wait (0 when nobody waits).
  Duration longest_wait(TimePoint now) const;
  // False while the last connection attempt failed and no logged-in server is left.
  bool reachable() const { return backoff_.failures() == 0 || servers_.size() > connecting_; }
  std::size_t consecutive_failures() const { return backoff_.failures(); }
  Duration current_backoff() const { return backoff_.current(); }

 private:
  enum class State { Connecting, Idle, Active };
  struct Server {
    State state;
    std::string params_key;
    TimePoint created;
    TimePoint idle_since;
    bool retire = false;
  };
  struct Waiter {
    ClientId client;
    std::string params_key;
    TimePoint since;
  };

  void pump(TimePoint now, Actions& out);
  // Idle longer than server_check_delay: verified before it is used.
  bool needs_check(const Server& server, TimePoint now) const {
    return now - server.idle_since > limits_.server_check_delay;
  }
  bool can_connect(TimePoint now) const;
  void connect(std::string params_key, TimePoint now, Actions& out);
  void assign(std::size_t waiter_index, std::size_t idle_index, TimePoint now, Actions& out);
  // `server` (taken off idle_) goes to `client`: Active, with an Assign action.
  void hand_out(ServerId id, Server& server, ClientId client, std::string params_key, TimePoint now, Actions& out);
  void erase(std::unordered_map<ServerId, Server>::iterator it);
  void close_idle(ServerId server, Actions& out);
  bool expired(const Server& s, TimePoint now) const;

  PoolLimits limits_;
  ServerId& next_server_id_;
  DatabaseCapacity& capacity_;
  RandomSource& random_;
  Backoff backoff_;
  TimePoint next_attempt_{};  // no connection attempt before this (backoff)
  std::unordered_map<ServerId, Server> servers_;
  std::vector<ServerId> idle_;  // most recently released last: reuse is LIFO
  std::deque<Waiter> waiters_;  // FIFO
  std::size_t connecting_ = 0;
  bool paused_ = false;
};

}  // namespace ouroboros::pool
