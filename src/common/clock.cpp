#include "common/clock.h"

namespace ouroboros {

RandomSource RandomSource::from_entropy() {
  std::random_device rd;
  return RandomSource((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
}

}  // namespace ouroboros
