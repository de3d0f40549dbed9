#include "pool/server_pool.h"

#include <algorithm>

namespace ouroboros::pool {

ServerPool::~ServerPool() { capacity_.open -= std::min(capacity_.open, servers_.size()); }

void ServerPool::request(ClientId client, std::string params_key, TimePoint now, Actions& out, bool front) {
  // The common case, nobody waiting and the newest idle server fits: what pump() would choose,
  // without queueing the client first.
  if (!paused_ && waiters_.empty() && !idle_.empty()) {
    const ServerId server = idle_.back();
    Server& s = servers_[server];
    if (s.params_key == params_key) {
      idle_.pop_back();
      hand_out(server, s, client, std::move(params_key), now, out);
      pump(now, out);
      return;
    }
  }
  Waiter waiter{client, std::move(params_key), now};
  if (front) waiters_.push_front(std::move(waiter));
  else waiters_.push_back(std::move(waiter));
  pump(now, out);
}

std::optional<ServerPool::Handout> ServerPool::take_idle(std::string_view params_key, TimePoint now) {
  // pump() after this would only refill a minimum size (nothing waits, a server exists).
  if (paused_ || !waiters_.empty() || idle_.empty() || servers_.size() < limits_.min_size) return std::nullopt;
  const ServerId id = idle_.back();
  Server& server = servers_[id];
  if (server.params_key != params_key) return std::nullopt;
  idle_.pop_back();
  server.state = State::Active;
  return Handout{id, needs_check(server, now)};
}

bool ServerPool::cancel_request(ClientId client) {
  auto it = std::find_if(waiters_.begin(), waiters_.end(),
                         [&](const Waiter& w) { return w.client == client; });
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

void ServerPool::server_ready(ServerId server, TimePoint now, Actions& out) {
  auto it = servers_.find(server);
  if (it == servers_.end() || it->second.state != State::Connecting) return;
  backoff_.reset();
  next_attempt_ = now;
  if (it->second.retire) {
    // Retired (reload, RECONNECT) while it was still logging in: it never serves anyone.
    erase(it);
    out.push_back({PoolAction::Kind::CloseServer, 0, server, {}});
  } else {
    --connecting_;
    it->second.state = State::Idle;
    it->second.idle_since = now;
    idle_.push_back(server);
  }
  pump(now, out);
}

void ServerPool::release(ServerId server, bool reusable, TimePoint now, Actions& out) {
  auto it = servers_.find(server);
  if (it == servers_.end() || it->second.state != State::Active) return;
  // A pool that shrank (reload) sheds servers as they come back, unless a client waits for one.
  bool surplus = servers_.size() > limits_.size && waiters_.empty();
  if (reusable && !expired(it->second, now) && !surplus) {
    it->second.state = State::Idle;
    it->second.idle_since = now;
    idle_.push_back(server);
  } else {
    erase(it);
    out.push_back({PoolAction::Kind::CloseServer, 0, server, {}});
  }
  pump(now, out);
}

void ServerPool::connect_failed(ServerId server, ConnectFailure failure, TimePoint now, Actions& out) {
  auto it = servers_.find(server);
  if (it == servers_.end() || it->second.state != State::Connecting) return;
  std::string params_key = it->second.params_key;
  erase(it);
  // The backend answered: only a transient failure says anything about its reachability.
  if (failure != ConnectFailure::ParametersRejected) next_attempt_ = now + backoff_.next_delay(random_);
  if (failure != ConnectFailure::Transient || limits_.fail_fast) {
    FailReason reason = failure == ConnectFailure::Transient ? FailReason::BackendUnavailable : FailReason::LoginRejected;
    for (auto w = waiters_.begin(); w != waiters_.end();) {
      if (failure == ConnectFailure::ParametersRejected && w->params_key != params_key) {
        ++w;
        continue;
      }
      out.push_back({PoolAction::Kind::FailClient, w->client, server, {}, true, false, reason});
      w = waiters_.erase(w);
    }
  }
  pump(now, out);
}

void ServerPool::remove(ServerId server, TimePoint now, Actions& out) {
  auto it = servers_.find(server);
  if (it == servers_.end()) return;
  erase(it);
  pump(now, out);
}

void ServerPool::tick(TimePoint now, Actions& out) {
  if (limits_.query_wait_timeout.count() > 0) {
    // Not only the front: a waiter re-queued at the front after a failed check may be younger.
    for (std::size_t i = 0; i < waiters_.size();) {
      if (now - waiters_[i].since >= limits_.query_wait_timeout) {
        FailReason reason = reachable() ? FailReason::WaitTimeout : FailReason::BackendUnavailable;
        out.push_back({PoolAction::Kind::FailClient, waiters_[i].client, 0, {}, true, false, reason});
        waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  // Idle servers past their idle timeout (keeping min_size) or their lifetime are closed.
  for (std::size_t i = 0; i < idle_.size();) {
    const Server& s = servers_[idle_[i]];
    bool idle_expired = limits_.server_idle_timeout.count() > 0 &&
                        now - s.idle_since >= limits_.server_idle_timeout && servers_.size() > limits_.min_size;
    if (idle_expired || expired(s, now)) {
      close_idle(idle_[i], out);
    } else {
      ++i;
    }
  }
  pump(now, out);
}

void ServerPool::retire_all(TimePoint now, Actions& out) {
  for (auto& [id, s] : servers_) s.retire = true;
  while (!idle_.empty()) close_idle(idle_.back(), out);
  pump(now, out);
}

void ServerPool::set_limits(PoolLimits limits, TimePoint now, Actions& out) {
  limits_ = limits;
  backoff_.set_policy(limits.backoff);
  // A smaller pool sheds idle servers now; busy ones go as they come back.
  while (!idle_.empty() && servers_.size() > limits_.size) close_idle(idle_.front(), out);
  pump(now, out);
}

Duration ServerPool::longest_wait(TimePoint now) const {
  Duration longest{0};
  for (const Waiter& w : waiters_)
    longest = std::max(longest, std::chrono::duration_cast<Duration>(now - w.since));
  return longest;
}

bool ServerPool::expired(const Server& s, TimePoint now) const {
  return s.retire || (limits_.server_lifetime.count() > 0 && now - s.created >= limits_.server_lifetime);
}

void ServerPool::erase(std::unordered_map<ServerId, Server>::iterator it) {
  if (it->second.state == State::Connecting) --connecting_;
  if (it->second.state == State::Idle) idle_.erase(std::remove(idle_.begin(), idle_.end(), it->first), idle_.end());
  if (capacity_.open > 0) --capacity_.open;
  servers_.erase(it);
}

void ServerPool::close_idle(ServerId server, Actions& out) {
  auto it = servers_.find(server);
  if (it == servers_.end()) return;
  erase(it);
  out.push_back({PoolAction::Kind::CloseServer, 0, server, {}});
}

bool ServerPool::can_serve_now(TimePoint now) const {
  if (paused_) return false;
  if (!idle_.empty() && waiters_.empty()) return true;
  // Every waiter already has a connection coming: one more request gets its own.
  return connecting_ >= waiters_.size() && can_connect(now);
}

bool ServerPool::can_connect(TimePoint now) const {
  if (capacity_.full()) return false;
  std::size_t allowed = limits_.size;
  if (limits_.reserve_size > 0 && !waiters_.empty() && now - waiters_.front().since >= limits_.reserve_timeout)
    allowed += limits_.reserve_size;
  if (servers_.size() >= allowed) return false;
  // While backing off: nothing before the delay ends, then one probe at a time.
  if (backoff_.failures() > 0 && (now < next_attempt_ || connecting_ > 0)) return false;
  return true;
}

void ServerPool::connect(std::string params_key, TimePoint now, Actions& out) {
  ServerId id = ++next_server_id_;
  servers_[id] = Server{State::Connecting, params_key, now, now, false};
  ++connecting_;
  ++capacity_.open;
  out.push_back({PoolAction::Kind::Connect, 0, id, std::move(params_key)});
}

void ServerPool::assign(std::size_t waiter_index, std::size_t idle_index, TimePoint now, Actions& out) {
  ServerId server = idle_[idle_index];
  Waiter waiter = std::move(waiters_[waiter_index]);
  idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(idle_index));
  waiters_.erase(waiters_.begin() + static_cast<std::ptrdiff_t>(waiter_index));
  hand_out(server, servers_[server], waiter.client, std::move(waiter.params_key), now, out);
}

void ServerPool::hand_out(ServerId id, Server& server, ClientId client, std::string params_key, TimePoint now,
                          Actions& out) {
  server.state = State::Active;
  const bool params_match = server.params_key == params_key;
  out.push_back({PoolAction::Kind::Assign, client, id, std::move(params_key), params_match, needs_check(server, now)});
}

void ServerPool::set_paused(bool paused, TimePoint now, Actions& out) {
  paused_ = paused;
  pump(now, out);
}

void ServerPool::pump(TimePoint now, Actions& out) {
  if (paused_) return;
  // 1. Idle servers go to the first waiter whose parameters they already have.
  for (std::size_t w = 0; w < waiters_.size() && !idle_.empty();) {
    bool assigned = false;
    for (std::size_t i = idle_.size(); i-- > 0;) {  // newest first (LIFO)
      if (servers_[idle_[i]].params_key == waiters_[w].params_key) {
        assign(w, i, now, out);
        assigned = true;
        break;
      }
    }
    if (!assigned) ++w;
  }
  // 2. Waiters not covered by a pending connection get one while the pool may grow.
  while (connecting_ < waiters_.size() && can_connect(now)) connect(waiters_[connecting_].params_key, now, out);
  // 3. Warm servers up to min_size; and while the backend is failing, keep probing it even with
  //    nobody waiting, so the pool (and /readyz) learns when it is back.
  while (waiters_.empty() && servers_.size() < limits_.min_size && can_connect(now)) connect("", now, out);
  if (waiters_.empty() && backoff_.failures() > 0 && servers_.empty() && can_connect(now)) connect("", now, out);
  // 4. When no new server can be opened now, idle servers with other parameters are used
  //    (the caller aligns them).
  if (!can_connect(now)) {
    while (!waiters_.empty() && !idle_.empty()) assign(0, idle_.size() - 1, now, out);
  }
}

}  // namespace ouroboros::pool
