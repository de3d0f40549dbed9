#pragma once
// Bookkeeping for one pool of server connections (one per database and backend user): which
// servers exist and in what state, which clients wait, and who gets what. No I/O: events go in,
// actions come out, so every decision is unit-tested without sockets.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace ouroboros::pool {

using ClientId = std::uint64_t;
using ServerId = std::uint64_t;

struct PoolLimits {
  std::size_t size = 20;  // servers (connecting + idle + in use) at most
};

struct PoolAction {
  enum class Kind {
    Assign,      // give `server` to `client`; params differ when `params_match` is false
    Connect,     // open server `server` with startup parameters `params_key`
    FailClient,  // `client` cannot be served: report the last connection error
  };
  Kind kind;
  ClientId client = 0;
  ServerId server = 0;
  std::string params_key;
  bool params_match = true;
};

class ServerPool {
 public:
  // `next_server_id` is shared by all pools of a loop so server ids are unique per loop.
  ServerPool(PoolLimits limits, ServerId& next_server_id)
      : limits_(limits), next_server_id_(next_server_id) {}

  // A client wants a server. `params_key` identifies the startup parameters it needs
  // ("" when any server will do).
  void request(ClientId client, std::string params_key, std::vector<PoolAction>& out);
  // The client left while waiting.
  void cancel_request(ClientId client);
  // A server finished logging in.
  void server_ready(ServerId server, std::vector<PoolAction>& out);
  // A server that was assigned is handed back; reusable = idle, clean and healthy.
  void release(ServerId server, bool reusable, std::vector<PoolAction>& out);
  // A server could not be opened (connect or login failed).
  void connect_failed(ServerId server, std::vector<PoolAction>& out);
  // A server closed (idle death, error, retirement): forget it and refill.
  void remove(ServerId server, std::vector<PoolAction>& out);
  // An idle server leaves the pool to be closed (e.g. replaced); returns false if not idle.
  bool take_idle(ServerId server);

  void set_limits(PoolLimits limits, std::vector<PoolAction>& out);
  const PoolLimits& limits() const { return limits_; }

  std::size_t total() const { return servers_.size(); }
  std::size_t idle_count() const { return idle_.size(); }
  std::size_t connecting_count() const { return connecting_; }
  std::size_t active_count() const { return servers_.size() - idle_.size() - connecting_; }
  std::size_t waiting_count() const { return waiters_.size(); }
  std::vector<ServerId> idle_servers() const { return idle_; }

 private:
  enum class State { Connecting, Idle, Active };
  struct Server {
    State state;
    std::string params_key;
  };
  struct Waiter {
    ClientId client;
    std::string params_key;
  };

  void pump(std::vector<PoolAction>& out);
  void assign(std::size_t waiter_index, std::size_t idle_index, std::vector<PoolAction>& out);
  void erase_idle(ServerId server);

  PoolLimits limits_;
  ServerId& next_server_id_;
  std::unordered_map<ServerId, Server> servers_;
  std::vector<ServerId> idle_;  // most recently released last: reuse is LIFO
  std::deque<Waiter> waiters_;  // FIFO
  std::size_t connecting_ = 0;
};

}  // namespace ouroboros::pool
