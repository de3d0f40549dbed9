// PoolOptions validation: each invalid setting is a UsageError naming it; a Pool with valid
// options connects nothing until asked.
#include <doctest/doctest.h>

#include <functional>
#include <string>

#include "ouroboros/pool.hpp"

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

std::string rejection(const std::function<void(PoolOptions&)>& change) {
  PoolOptions options;
  change(options);
  try {
    options.validate();
  } catch (const UsageError& error) {
    return error.what();
  }
  return "";
}

bool names(const std::string& message, const std::string& setting) {
  return message.find(setting) != std::string::npos;
}

}  // namespace

TEST_CASE("the default PoolOptions are valid") {
  CHECK_NOTHROW(PoolOptions{}.validate());
  PoolOptions options;
  CHECK(options.min_idle == 0);
  CHECK(options.max_size == 10);
  CHECK(options.max_lifetime == 30min);
  CHECK(options.idle_timeout == 10min);
  CHECK(options.connect_timeout == 10s);
  CHECK(options.acquire_timeout == 5s);
  CHECK(options.check_on_return == ReturnCheck::Rollback);
}

TEST_CASE("invalid PoolOptions are refused with the setting's name") {
  CHECK(names(rejection([](PoolOptions& o) { o.max_size = 0; }), "max_size"));
  CHECK(names(rejection([](PoolOptions& o) { o.min_idle = 11; }), "min_idle (11)"));
  CHECK(names(rejection([](PoolOptions& o) { o.max_lifetime = -1ms; }), "max_lifetime"));
  CHECK(
      names(rejection([](PoolOptions& o) { o.max_lifetime_jitter = 1.5; }), "max_lifetime_jitter"));
  CHECK(names(rejection([](PoolOptions& o) { o.max_lifetime_jitter = -0.1; }),
              "max_lifetime_jitter"));
  CHECK(names(rejection([](PoolOptions& o) { o.idle_timeout = -1ms; }), "idle_timeout"));
  CHECK(names(rejection([](PoolOptions& o) { o.connect_timeout = 1500ms; }), "connect_timeout"));
  CHECK(names(rejection([](PoolOptions& o) { o.acquire_timeout = -1ms; }), "acquire_timeout"));
  CHECK(
      names(rejection([](PoolOptions& o) { o.health_check_after = -1ms; }), "health_check_after"));
  CHECK(names(rejection([](PoolOptions& o) { o.maintenance_interval = -1ms; }),
              "maintenance_interval"));
  CHECK(names(rejection([](PoolOptions& o) { o.check_on_return = static_cast<ReturnCheck>(7); }),
              "check_on_return"));
  CHECK(names(rejection([](PoolOptions& o) { o.connect.backoff.attempts = 0; }), "attempts"));
  CHECK(rejection([](PoolOptions& o) { o.connect_timeout = 0ms; }).empty());
}

TEST_CASE("the Pool constructor validates and does not connect") {
  PoolOptions bad;
  bad.min_idle = 20;
  CHECK_THROWS_AS(Pool("host=127.0.0.1 port=1", bad), UsageError);
  PoolOptions lazy;
  lazy.maintenance_interval = 0ms;
  Pool pool("host=127.0.0.1 port=1", lazy);  // nothing listens there; nothing is attempted
  PoolStats stats = pool.stats();
  CHECK(stats.open == 0);
  CHECK(stats.created == 0);
  CHECK(pool.max_size() == 10);
}
