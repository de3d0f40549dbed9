#include "pool/cancel_registry.h"

namespace ouroboros::pool {

std::optional<ClientId> CancelRegistry::find(CancelKey key) const {
  auto it = clients_.find(pack(key));
  if (it == clients_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ouroboros::pool
