// StatementCache: LRU bookkeeping of prepared statements.
#include "statement_cache.hpp"

namespace ouroboros {

StatementCache::StatementCache(std::size_t capacity, std::string prefix)
    : capacity_(capacity), prefix_(std::move(prefix)) {}

const std::string* StatementCache::find(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->second;
}

std::string StatementCache::insert(const std::string& key) {
  forget(key);
  std::string name = prefix_ + std::to_string(++counter_);
  lru_.emplace_front(key, name);
  index_[key] = lru_.begin();
  while (index_.size() > capacity_) {
    retired_.push_back(lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return name;
}

void StatementCache::forget(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void StatementCache::retire(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  retired_.push_back(it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
}

std::vector<std::string> StatementCache::take_retired() {
  return std::exchange(retired_, {});
}

void StatementCache::clear() {
  lru_.clear();
  index_.clear();
  retired_.clear();
}

}  // namespace ouroboros
