// pool.session_state (pin | refuse): default, top-level and per-database values, bad values.
#include <doctest/doctest.h>

#include "test_support.h"

using namespace ouroboros::config;
using namespace ouroboros::config::test;

TEST_CASE("session_state defaults to pin") {
  const LoadResult result = parse(minimal());
  REQUIRE(result.config.has_value());
  CHECK(result.config->pool.session_state == SessionStatePolicy::Pin);
  CHECK(result.config->databases.at("appdb").pool.session_state == SessionStatePolicy::Pin);
  CHECK(PoolSettings{}.session_state == SessionStatePolicy::Pin);
}

TEST_CASE("session_state from the top-level pool, overridden per database") {
  const LoadResult result = parse(R"(pool:
  mode: transaction
  session_state: refuse
databases:
  inherits: { host: h }
  pinning:
    host: h
    pool: { session_state: pin }
)");
  INFO(all_errors(result));
  REQUIRE(result.config.has_value());
  CHECK(result.warnings.empty());
  CHECK(result.config->pool.session_state == SessionStatePolicy::Refuse);
  CHECK(result.config->databases.at("inherits").pool.session_state == SessionStatePolicy::Refuse);
  CHECK(result.config->databases.at("pinning").pool.session_state == SessionStatePolicy::Pin);
}

TEST_CASE("session_state: an unknown value is an error at its line and column") {
  check_error(parse(minimal("pool:\n  session_state: share\n")), "pool.session_state", 4, 18,
              "unknown value 'share'; valid values are: pin, refuse");
  check_error(parse("databases:\n  appdb:\n    host: h\n    pool: { session_state: PIN }\n"),
              "databases.appdb.pool.session_state", 4, 28, "valid values are: pin, refuse");
}
