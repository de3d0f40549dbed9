// StatementCache: per-connection LRU of prepared statement names, keyed by (sql, parameter types).
// Pure bookkeeping: the connection prepares and deallocates; this decides names and evictions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ouroboros {

class StatementCache {
 public:
  // prefix makes names unique across connections (they may share a server session behind a
  // transaction-pooling proxy).
  StatementCache(std::size_t capacity, std::string prefix);

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t size() const noexcept { return index_.size(); }
  bool enabled() const noexcept { return capacity_ > 0; }

  // The statement name cached for key (and marks it most recently used), or nullptr.
  const std::string* find(const std::string& key);
  // Records a newly prepared statement; returns its name. Evicted names go to the retired list.
  std::string insert(const std::string& key);
  // The statement is gone on the server (26000): drop the entry, nothing to deallocate.
  void forget(const std::string& key);
  // The statement still exists but must not be used again: drop it and deallocate it later.
  void retire(const std::string& key);
  // Names waiting for DEALLOCATE; the caller deallocates them.
  std::vector<std::string> take_retired();
  // Everything is gone (new session): drop all entries and pending deallocations.
  void clear();

 private:
  using Entry = std::pair<std::string, std::string>;  // key, name
  std::size_t capacity_;
  std::string prefix_;
  std::uint64_t counter_ = 0;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::vector<std::string> retired_;
};

}  // namespace ouroboros
