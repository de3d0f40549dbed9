#include "session/server_statements.h"

namespace ouroboros::session {

bool ServerStatements::use(std::uint64_t id) {
  auto it = index_.find(id);
  if (it == index_.end()) return false;
  order_.splice(order_.end(), order_, it->second);
  return true;
}

std::optional<ServerStatement> ServerStatements::add(std::uint64_t id, std::string server_name) {
  if (use(id)) return std::nullopt;
  std::optional<ServerStatement> evicted;
  if (order_.size() >= capacity_) {
    evicted = std::move(order_.front());
    index_.erase(evicted->id);
    order_.pop_front();
  }
  order_.push_back({id, std::move(server_name)});
  index_[id] = std::prev(order_.end());
  return evicted;
}

void ServerStatements::forget(std::uint64_t id, bool still_on_server) {
  auto it = index_.find(id);
  if (it == index_.end()) return;
  if (still_on_server) pending_closes_.push_back(*it->second);
  order_.erase(it->second);
  index_.erase(it);
}

void ServerStatements::found(std::uint64_t id, std::string server_name) {
  if (auto evicted = add(id, std::move(server_name)))
    pending_closes_.push_back(std::move(*evicted));
}

std::vector<ServerStatement> ServerStatements::take_pending_closes() {
  std::vector<ServerStatement> out;
  out.swap(pending_closes_);
  return out;
}

void ServerStatements::clear() {
  order_.clear();
  index_.clear();
  pending_closes_.clear();
}

}  // namespace ouroboros::session
