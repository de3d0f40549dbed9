#pragma once
// The proxy statements one server connection has prepared, least recently used first out.
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ouroboros::session {

struct ServerStatement {
  std::uint64_t id = 0;
  std::string server_name;
};

class ServerStatements {
 public:
  explicit ServerStatements(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // True if prepared (and marks it most recently used).
  bool use(std::uint64_t id);
  // Records a Parse being sent; returns the statement evicted to make room, which the caller
  // closes on the server.
  std::optional<ServerStatement> add(std::uint64_t id, std::string server_name);
  // The Parse failed, or the statement must be prepared again: forget it. When it still exists
  // on the server (stale plan), it is queued for closing.
  void forget(std::uint64_t id, bool still_on_server);
  // A statement the server still has although the proxy meant to close it: close it later.
  void queue_close(ServerStatement statement) { pending_closes_.push_back(std::move(statement)); }
  // The server has a statement the proxy had forgotten: track it again (closing what that evicts).
  void found(std::uint64_t id, std::string server_name);
  // Statements that must be closed on the server before anything else is sent.
  std::vector<ServerStatement> take_pending_closes();
  bool has_pending_closes() const { return !pending_closes_.empty(); }
  // DEALLOCATE ALL / DISCARD ALL ran on the server.
  void clear();
  std::size_t size() const { return order_.size(); }
  std::size_t capacity() const { return capacity_; }
  void set_capacity(std::size_t capacity) { capacity_ = capacity < 1 ? 1 : capacity; }

 private:
  std::size_t capacity_;
  std::list<ServerStatement> order_;  // front = least recently used
  std::unordered_map<std::uint64_t, std::list<ServerStatement>::iterator> index_;
  std::vector<ServerStatement> pending_closes_;
};

}  // namespace ouroboros::session
