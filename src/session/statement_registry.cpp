#include "session/statement_registry.h"

namespace ouroboros::session {

std::string StatementRegistry::key_of(std::string_view query, const std::vector<std::uint32_t>& types,
                                      std::uintptr_t owner) {
  std::string key;
  key.reserve(query.size() + 1 + types.size() * 4 + (owner ? sizeof(owner) + 1 : 0));
  for (std::uint32_t t : types) key.append(reinterpret_cast<const char*>(&t), sizeof(t));
  key += '\0';  // types have a fixed width, so this split point is unambiguous
  key.append(query);
  if (owner != 0) {
    key += '\0';  // a Parse's query never holds a NUL byte: a shared key has none after it
    key.append(reinterpret_cast<const char*>(&owner), sizeof(owner));
  }
  return key;
}

std::shared_ptr<const PreparedStatement> StatementRegistry::intern(std::string_view query,
                                                                    const std::vector<std::uint32_t>& types,
                                                                    std::uintptr_t owner) {
  std::string key = key_of(query, types, owner);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (auto live = it->second.lock()) return live;
  }
  auto entry = std::make_shared<PreparedStatement>();
  entry->id = ++next_id_;
  entry->query = std::string(query);
  entry->parameter_types = types;
  // Ids are never reused, so a server never confuses an old statement with a new one.
  entry->server_name = server_statement_name(entry->id);
  entries_[std::move(key)] = entry;
  if (++interned_since_purge_ >= 1024) purge();
  return entry;
}

std::size_t StatementRegistry::live() const {
  std::size_t n = 0;
  for (const auto& [key, weak] : entries_)
    if (!weak.expired()) ++n;
  return n;
}

void StatementRegistry::purge() {
  interned_since_purge_ = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expired()) it = entries_.erase(it);
    else ++it;
  }
}

}  // namespace ouroboros::session
