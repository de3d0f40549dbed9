#include "pool/settings_interner.h"

namespace ouroboros::pool {

std::uint64_t settings_hash(const Settings& settings) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view text) {
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0) * 1099511628211ull;
  };
  for (const auto& [name, value] : settings) {
    mix(name);
    mix(value);
  }
  return h == 0 ? 1 : h;
}

SettingsInterner::Interned SettingsInterner::intern(Settings settings) {
  std::uint64_t hash = settings_hash(settings);
  auto [first, last] = entries_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    if (auto shared = it->second.lock(); shared && *shared == settings) return {std::move(shared), hash};
  }
  if (entries_.size() >= sweep_at_) sweep();
  auto shared = std::make_shared<const Settings>(std::move(settings));
  entries_.emplace(hash, shared);
  return {std::move(shared), hash};
}

void SettingsInterner::sweep() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.expired()) it = entries_.erase(it);
    else ++it;
  }
  sweep_at_ = entries_.size() * 2 < 64 ? 64 : entries_.size() * 2;
}

}  // namespace ouroboros::pool
