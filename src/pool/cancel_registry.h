#pragma once
// Maps the cancel keys the proxy handed to clients (BackendKeyData) to those clients, so a
// CancelRequest arriving on a fresh connection finds the session it targets.
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "pool/server_pool.h"

namespace ouroboros::pool {

struct CancelKey {
  std::int32_t pid = 0;
  std::int32_t key = 0;
  bool operator==(const CancelKey&) const = default;
};

class CancelRegistry {
 public:
  void add(CancelKey key, ClientId client) { clients_[pack(key)] = client; }
  void remove(CancelKey key) { clients_.erase(pack(key)); }
  bool contains(CancelKey key) const { return clients_.count(pack(key)) != 0; }
  std::optional<ClientId> find(CancelKey key) const;
  std::size_t size() const { return clients_.size(); }

 private:
  static std::uint64_t pack(CancelKey k) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.pid)) << 32) |
           static_cast<std::uint32_t>(k.key);
  }
  std::unordered_map<std::uint64_t, ClientId> clients_;
};

}  // namespace ouroboros::pool
