#pragma once
// One shared copy of each distinct settings map. Thousands of clients of one pool usually expect
// the same dozen settings; sharing them keeps an idle client's memory small. One interner per
// event loop (not thread-safe); a client changes its settings by interning a modified copy.
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "pool/startup_parameters.h"

namespace ouroboros::pool {

// FNV-1a over name\0value\0 in the map's (sorted) order: equal settings, equal hash; never 0.
std::uint64_t settings_hash(const Settings& settings);

class SettingsInterner {
 public:
  struct Interned {
    std::shared_ptr<const Settings> settings;
    std::uint64_t hash = 0;
  };
  Interned intern(Settings settings);
  std::size_t size() const { return entries_.size(); }

 private:
  void sweep();  // drops entries no client uses any more

  std::unordered_multimap<std::uint64_t, std::weak_ptr<const Settings>> entries_;
  std::size_t sweep_at_ = 64;
};

}  // namespace ouroboros::pool
