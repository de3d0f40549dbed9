#include "pool/backoff.h"

#include <algorithm>
#include <cmath>

namespace ouroboros::pool {

Duration Backoff::base_delay(std::size_t failures) const {
  if (failures == 0) return Duration::zero();
  double ms = static_cast<double>(policy_.initial.count());
  double cap = static_cast<double>(policy_.max.count());
  for (std::size_t i = 1; i < failures && ms < cap; ++i) ms *= policy_.multiplier;
  return Duration(static_cast<Duration::rep>(std::min(ms, cap)));
}

Duration Backoff::next_delay(RandomSource& random) {
  ++failures_;
  double base = static_cast<double>(base_delay(failures_).count());
  double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  // Spread reconnects of many pools/proxies so they do not hit a recovering database together.
  double factor = 1.0 - jitter + 2.0 * jitter * random.unit();
  double ms = std::min(base * factor, static_cast<double>(policy_.max.count()));
  current_ = Duration(static_cast<Duration::rep>(std::llround(std::max(ms, 1.0))));
  return current_;
}

}  // namespace ouroboros::pool
