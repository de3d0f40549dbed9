#include "pool/server_pool.h"

#include <algorithm>

namespace ouroboros::pool {

void ServerPool::request(ClientId client, std::string params_key, std::vector<PoolAction>& out) {
  waiters_.push_back({client, std::move(params_key)});
  pump(out);
}

void ServerPool::cancel_request(ClientId client) {
  auto it = std::find_if(waiters_.begin(), waiters_.end(),
                         [&](const Waiter& w) { return w.client == client; });
  if (it != waiters_.end()) waiters_.erase(it);
}

void ServerPool::server_ready(ServerId server, std::vector<PoolAction>& out) {
  auto it = servers_.find(server);
  if (it == servers_.end() || it->second.state != State::Connecting) return;
  it->second.state = State::Idle;
  --connecting_;
  idle_.push_back(server);
  pump(out);
}

void ServerPool::release(ServerId server, bool reusable, std::vector<PoolAction>& out) {
  auto it = servers_.find(server);
  if (it == servers_.end() || it->second.state != State::Active) return;
  if (reusable) {
    it->second.state = State::Idle;
    idle_.push_back(server);
  } else {
    servers_.erase(it);
  }
  pump(out);
}

void ServerPool::connect_failed(ServerId server, std::vector<PoolAction>& out) {
  auto it = servers_.find(server);
  if (it == servers_.end() || it->second.state != State::Connecting) return;
  servers_.erase(it);
  --connecting_;
  // Each waiter not covered by another pending connection learns of the failure rather than
  // waiting for a server that will not come.
  if (waiters_.size() > connecting_) {
    out.push_back({PoolAction::Kind::FailClient, waiters_.front().client, server, {}, true});
    waiters_.pop_front();
  }
  pump(out);
}

void ServerPool::remove(ServerId server, std::vector<PoolAction>& out) {
  auto it = servers_.find(server);
  if (it == servers_.end()) return;
  if (it->second.state == State::Connecting) --connecting_;
  if (it->second.state == State::Idle) erase_idle(server);
  servers_.erase(it);
  pump(out);
}

bool ServerPool::take_idle(ServerId server) {
  auto it = servers_.find(server);
  if (it == servers_.end() || it->second.state != State::Idle) return false;
  erase_idle(server);
  servers_.erase(it);
  return true;
}

void ServerPool::set_limits(PoolLimits limits, std::vector<PoolAction>& out) {
  limits_ = limits;
  pump(out);
}

void ServerPool::erase_idle(ServerId server) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), server), idle_.end());
}

void ServerPool::assign(std::size_t waiter_index, std::size_t idle_index, std::vector<PoolAction>& out) {
  ServerId server = idle_[idle_index];
  Waiter waiter = std::move(waiters_[waiter_index]);
  idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(idle_index));
  waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(waiter_index));
  Server& s = servers_[server];
  s.state = State::Active;
  out.push_back({PoolAction::Kind::Assign, waiter.client, server, waiter.params_key,
                 s.params_key == waiter.params_key});
}

void ServerPool::pump(std::vector<PoolAction>& out) {
  // 1. Idle servers go to the first waiter whose parameters they already have.
  for (std::size_t w = 0; w < waiters_.size() && !idle_.empty();) {
    bool assigned = false;
    for (std::size_t i = idle_.size(); i-- > 0;) {  // newest first (LIFO)
      if (servers_[idle_[i]].params_key == waiters_[w].params_key) {
        assign(w, i, out);
        assigned = true;
        break;
      }
    }
    if (!assigned) ++w;
  }
  // 2. Waiters not covered by a pending connection get one while the pool has room.
  while (connecting_ < waiters_.size() && servers_.size() < limits_.size) {
    ServerId id = ++next_server_id_;
    const std::string& key = waiters_[connecting_].params_key;
    servers_[id] = Server{State::Connecting, key};
    ++connecting_;
    out.push_back({PoolAction::Kind::Connect, 0, id, key, true});
  }
  // 3. A full pool reuses idle servers with other parameters (the caller adjusts them).
  if (servers_.size() >= limits_.size) {
    while (!waiters_.empty() && !idle_.empty()) assign(0, idle_.size() - 1, out);
  }
}

}  // namespace ouroboros::pool
