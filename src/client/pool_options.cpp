// PoolOptions validation: every setting checked before the pool exists.
#include "ouroboros/pool.hpp"

namespace ouroboros {
namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw UsageError("PoolOptions: " + message);
}

}  // namespace

void PoolOptions::validate() const {
  require(max_size >= 1, "max_size must be at least 1");
  require(min_idle <= max_size, "min_idle (" + std::to_string(min_idle) +
                                    ") must not exceed max_size (" + std::to_string(max_size) +
                                    ")");
  require(max_lifetime.count() >= 0, "max_lifetime must not be negative (0: no limit)");
  require(max_lifetime_jitter >= 0.0 && max_lifetime_jitter <= 1.0,
          "max_lifetime_jitter must be within [0, 1]");
  require(idle_timeout.count() >= 0, "idle_timeout must not be negative (0: never)");
  require(connect_timeout.count() == 0 || connect_timeout >= std::chrono::seconds(2),
          "connect_timeout must be 0 (no limit) or at least 2 s (libpq's minimum)");
  require(acquire_timeout.count() >= 0, "acquire_timeout must not be negative");
  require(health_check_after.count() >= 0, "health_check_after must not be negative");
  require(maintenance_interval.count() >= 0,
          "maintenance_interval must not be negative (0: no maintenance thread)");
  require(check_on_return == ReturnCheck::Close || check_on_return == ReturnCheck::Rollback ||
              check_on_return == ReturnCheck::DiscardAll,
          "check_on_return is not a ReturnCheck value");
  require(connect.connect_timeout.count() >= 0, "connect.connect_timeout must not be negative");
  for (const auto& observer : observers) require(observer != nullptr, "observers must not be null");
  for (const auto& observer : connect.observers)
    require(observer != nullptr, "connect.observers must not be null");
  connect.backoff.validate();
}

}  // namespace ouroboros
