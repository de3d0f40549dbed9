#pragma once
// One shared copy of each distinct settings map (or start-up parameter list). Thousands of
// clients of one pool usually send the same start-up parameters and expect the same dozen
// settings; sharing them keeps an idle client's memory small. One interner per event loop (not
// thread-safe); a client changes its settings by interning a modified copy.
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "common/fnv1a.h"
#include "pool/startup_parameters.h"

namespace ouroboros::pool {

// FNV-1a over name\0value\0 in order: equal contents, equal hash; never 0.
template <class Pairs>
std::uint64_t pairs_hash(const Pairs& pairs) {
  constexpr std::string_view kSeparator("\0", 1);
  std::uint64_t h = kFnv1aOffset;
  for (const auto& [name, value] : pairs) h = fnv1a(kSeparator, fnv1a(value, fnv1a(kSeparator, fnv1a(name, h))));
  return h == 0 ? 1 : h;
}

inline std::uint64_t settings_hash(const Settings& settings) { return pairs_hash(settings); }

template <class T>
class Interner {
 public:
  struct Interned {
    std::shared_ptr<const T> value;
    std::uint64_t hash = 0;
  };
  Interned intern_with_hash(T value) {
    std::uint64_t hash = pairs_hash(value);
    auto [first, last] = entries_.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      if (auto shared = it->second.lock(); shared && *shared == value) return {std::move(shared), hash};
    }
    if (entries_.size() >= sweep_at_) sweep();
    auto shared = std::make_shared<const T>(std::move(value));
    entries_.emplace(hash, shared);
    return {std::move(shared), hash};
  }
  std::shared_ptr<const T> intern(T value) { return intern_with_hash(std::move(value)).value; }
  std::size_t size() const { return entries_.size(); }

 private:
  // Drops entries no client uses any more; runs when the table has doubled since the last time.
  void sweep() {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second.expired()) it = entries_.erase(it);
      else ++it;
    }
    sweep_at_ = entries_.size() * 2 < 64 ? 64 : entries_.size() * 2;
  }

  std::unordered_multimap<std::uint64_t, std::weak_ptr<const T>> entries_;
  std::size_t sweep_at_ = 64;
};

using SettingsInterner = Interner<Settings>;
using StartupParametersInterner = Interner<StartupParameters>;

}  // namespace ouroboros::pool
