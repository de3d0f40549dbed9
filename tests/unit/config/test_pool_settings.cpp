// Pool sizing, timeouts and lifetimes, backend-outage settings (backoff, fail_fast) and
// timeouts.shutdown_timeout: defaults, per-database merging, 0 = disabled, validation.
#include <doctest/doctest.h>

#include "test_support.h"

using namespace ouroboros::config;
using namespace ouroboros::config::test;
using namespace std::chrono_literals;

namespace {
const Config& require_config(const LoadResult& result) {
  INFO(all_errors(result));
  REQUIRE(result.errors.empty());
  REQUIRE(result.config.has_value());
  return *result.config;
}

void check_default_pool(const PoolSettings& pool) {
  CHECK(pool.mode == PoolMode::Session);
  CHECK(pool.size == 20);
  CHECK(pool.min_size == 0);
  CHECK(pool.reserve_size == 0);
  CHECK(pool.reserve_timeout == 5s);
  CHECK(pool.max_db_connections == 0);
  CHECK(pool.max_client_connections == 0);
  CHECK(pool.server_idle_timeout == 10min);
  CHECK(pool.server_lifetime == 1h);
  CHECK(pool.server_check_delay == 30s);
  CHECK(pool.query_wait_timeout == 120s);
  CHECK(pool.query_timeout == 0ms);
  CHECK(pool.idle_transaction_timeout == 0ms);
  CHECK(pool.client_idle_timeout == 0ms);
  CHECK_FALSE(pool.fail_fast);
  CHECK(pool.backoff.initial == 100ms);
  CHECK(pool.backoff.max == 10s);
  CHECK(pool.backoff.multiplier == 2.0);
  CHECK(pool.backoff.jitter == 0.2);
}
}  // namespace

TEST_CASE("pool and shutdown defaults") {
  const LoadResult result = parse(minimal());
  const Config& config = require_config(result);
  check_default_pool(config.pool);
  check_default_pool(config.databases.at("appdb").pool);
  CHECK(config.timeouts.shutdown_timeout == 30s);
  check_default_pool(PoolSettings{});  // the struct's own defaults are the same
  CHECK(TimeoutsConfig{}.shutdown_timeout == 30s);
}

TEST_CASE("every pool key is read from the top-level pool") {
  const LoadResult result = parse(minimal(R"(pool:
  mode: transaction
  size: 30
  min_size: 5
  reserve_size: 3
  reserve_timeout: 2s
  max_db_connections: 80
  max_client_connections: 500
  server_idle_timeout: 5m
  server_lifetime: 2h
  server_check_delay: 10s
  query_wait_timeout: 1m
  query_timeout: 30s
  idle_transaction_timeout: 45s
  client_idle_timeout: 1d
  fail_fast: true
  backoff: { initial: 250ms, max: 1m, multiplier: 1.5, jitter: 0.1 }
timeouts: { shutdown_timeout: 90s }
)"));
  const Config& config = require_config(result);
  CHECK(result.warnings.empty());
  for (const PoolSettings& pool : {config.pool, config.databases.at("appdb").pool}) {
    CHECK(pool.mode == PoolMode::Transaction);
    CHECK(pool.size == 30);
    CHECK(pool.min_size == 5);
    CHECK(pool.reserve_size == 3);
    CHECK(pool.reserve_timeout == 2s);
    CHECK(pool.max_db_connections == 80);
    CHECK(pool.max_client_connections == 500);
    CHECK(pool.server_idle_timeout == 5min);
    CHECK(pool.server_lifetime == 2h);
    CHECK(pool.server_check_delay == 10s);
    CHECK(pool.query_wait_timeout == 1min);
    CHECK(pool.query_timeout == 30s);
    CHECK(pool.idle_transaction_timeout == 45s);
    CHECK(pool.client_idle_timeout == 24h);
    CHECK(pool.fail_fast);
    CHECK(pool.backoff.initial == 250ms);
    CHECK(pool.backoff.max == 1min);
    CHECK(pool.backoff.multiplier == 1.5);
    CHECK(pool.backoff.jitter == 0.1);
  }
  CHECK(config.timeouts.shutdown_timeout == 90s);
  CHECK(config.timeouts.client_login_timeout == 60s);  // siblings keep their defaults
}

TEST_CASE("a database's pool overrides merge key by key, backoff too") {
  const LoadResult result = parse(R"(pool:
  mode: transaction
  size: 10
  min_size: 2
  query_timeout: 30s
  fail_fast: true
  backoff: { initial: 200ms, max: 5s, jitter: 0.5 }
databases:
  inherits: { host: h }
  reporting:
    host: h
    pool:
      mode: session
      min_size: 4
      reserve_size: 2
      max_db_connections: 40
      max_client_connections: 100
      server_lifetime: 30m
      query_timeout: 0
      client_idle_timeout: 15m
      fail_fast: false
      backoff: { max: 30s }
  tuned:
    host: h
    pool:
      backoff:
        multiplier: 3
  "*": { host: h, pool: { backoff: {} } }
)");
  const Config& config = require_config(result);
  const PoolSettings& defaults = config.pool;
  CHECK(defaults.mode == PoolMode::Transaction);
  CHECK(defaults.min_size == 2);
  CHECK(defaults.backoff.initial == 200ms);
  CHECK(defaults.backoff.max == 5s);
  CHECK(defaults.backoff.multiplier == 2.0);  // not written: the built-in default
  CHECK(defaults.backoff.jitter == 0.5);

  const PoolSettings& inherits = config.databases.at("inherits").pool;
  CHECK(inherits.mode == PoolMode::Transaction);
  CHECK(inherits.size == 10);
  CHECK(inherits.min_size == 2);
  CHECK(inherits.query_timeout == 30s);
  CHECK(inherits.fail_fast);
  CHECK(inherits.backoff.initial == 200ms);
  CHECK(inherits.backoff.max == 5s);
  CHECK(inherits.backoff.jitter == 0.5);

  const PoolSettings& reporting = config.databases.at("reporting").pool;
  CHECK(reporting.mode == PoolMode::Session);
  CHECK(reporting.size == 10);  // inherited
  CHECK(reporting.min_size == 4);
  CHECK(reporting.reserve_size == 2);
  CHECK(reporting.reserve_timeout == 5s);  // built-in default
  CHECK(reporting.max_db_connections == 40);
  CHECK(reporting.max_client_connections == 100);
  CHECK(reporting.server_idle_timeout == 10min);
  CHECK(reporting.server_lifetime == 30min);
  CHECK(reporting.query_timeout == 0ms);  // a database may switch off what the defaults set
  CHECK(reporting.client_idle_timeout == 15min);
  CHECK_FALSE(reporting.fail_fast);
  CHECK(reporting.backoff.initial == 200ms);  // from the top-level backoff
  CHECK(reporting.backoff.max == 30s);
  CHECK(reporting.backoff.multiplier == 2.0);
  CHECK(reporting.backoff.jitter == 0.5);

  const PoolSettings& tuned = config.databases.at("tuned").pool;
  CHECK(tuned.backoff.initial == 200ms);
  CHECK(tuned.backoff.max == 5s);
  CHECK(tuned.backoff.multiplier == 3.0);
  CHECK(tuned.backoff.jitter == 0.5);

  const auto other = config.find_database("elsewhere");
  REQUIRE(other);
  CHECK(other->pool.backoff.max == 5s);
  CHECK(other->pool.min_size == 2);
}

TEST_CASE("a user's pool_mode and the database's mode are both kept") {
  const LoadResult result = parse(R"(auth:
  users:
    batch: { password: "${P}", pool_mode: statement }
databases:
  appdb: { host: h, pool: { mode: transaction } }
)",
                                  {{"P", "x"}});
  const Config& config = require_config(result);
  CHECK(config.databases.at("appdb").pool.mode == PoolMode::Transaction);
  CHECK(config.auth.users.at("batch").pool_mode == PoolMode::Statement);
}

TEST_CASE("0 disables the durations that may be disabled") {
  for (const char* zero : {"0", "0s", "0ms", "0us", "0m", "\"0\""}) {
    INFO("written as " << zero);
    const std::string z = zero;
    const LoadResult result = parse(minimal("pool:\n  server_idle_timeout: " + z +
                                            "\n  server_lifetime: " + z +
                                            "\n  server_check_delay: " + z +
                                            "\n  query_wait_timeout: " + z +
                                            "\n  query_timeout: " + z +
                                            "\n  idle_transaction_timeout: " + z +
                                            "\n  client_idle_timeout: " + z +
                                            "\ntimeouts:\n  shutdown_timeout: " + z + "\n"));
    const Config& config = require_config(result);
    for (const PoolSettings& pool : {config.pool, config.databases.at("appdb").pool}) {
      CHECK(pool.server_idle_timeout == 0ms);
      CHECK(pool.server_lifetime == 0ms);
      CHECK(pool.server_check_delay == 0ms);
      CHECK(pool.query_wait_timeout == 0ms);
      CHECK(pool.query_timeout == 0ms);
      CHECK(pool.idle_transaction_timeout == 0ms);
      CHECK(pool.client_idle_timeout == 0ms);
    }
    CHECK(config.timeouts.shutdown_timeout == 0ms);
  }
  // A per-database 0 overrides a non-zero default.
  const LoadResult db = parse(R"(pool: { server_lifetime: 30m }
databases:
  a: { host: h, pool: { server_lifetime: 0, query_wait_timeout: "${WAIT:-0s}" } }
)");
  const Config& config = require_config(db);
  CHECK(config.pool.server_lifetime == 30min);
  CHECK(config.databases.at("a").pool.server_lifetime == 0ms);
  CHECK(config.databases.at("a").pool.query_wait_timeout == 0ms);
}

TEST_CASE("0 is rejected where it makes no sense") {
  const LoadResult result = parse(minimal(R"(pool:
  reserve_timeout: 0
  backoff:
    initial: 0ms
    max: 0s
timeouts:
  client_login_timeout: 0
  server_connect_timeout: 0us
)"));
  check_error(result, "pool.reserve_timeout", 4, 20, "must be greater than zero");
  check_error(result, "pool.backoff.initial", 6, 14, "must be greater than zero");
  check_error(result, "pool.backoff.max", 7, 10, "must be greater than zero");
  check_error(result, "timeouts.client_login_timeout", 9, 25, "must be greater than zero");
  check_error(result, "timeouts.server_connect_timeout", 10, 27, "must be greater than zero");
  CHECK(result.errors.size() == 5);

  const LoadResult db =
      parse("databases:\n  a: { host: h, pool: { reserve_timeout: 0s, backoff: { max: 0 } } }\n");
  check_error(db, "databases.a.pool.reserve_timeout", 2, 42, "must be greater than zero");
  check_error(db, "databases.a.pool.backoff.max", 2, 62, "must be greater than zero");
  CHECK(db.errors.size() == 2);
}

TEST_CASE("non-zero durations still need units, and say what 0 means") {
  const LoadResult result = parse(minimal(R"(pool:
  server_lifetime: 3600
  query_wait_timeout: soon
  server_check_delay: -1s
timeouts:
  shutdown_timeout: 30
)"));
  check_error(result, "pool.server_lifetime", 4, 20, "'3600' has no unit; units are required");
  check_error(result, "pool.server_lifetime", 4, 20, "0 alone means never");
  check_error(result, "pool.query_wait_timeout", 5, 23, "invalid duration 'soon'");
  check_error(result, "pool.query_wait_timeout", 5, 23, "0 alone means wait forever");
  check_error(result, "pool.server_check_delay", 6, 23, "0 alone means always check");
  check_error(result, "timeouts.shutdown_timeout", 8, 21, "0 alone means close at once");
  CHECK(result.errors.size() == 4);
}

TEST_CASE("counts may be 0 but must be whole numbers") {
  const LoadResult ok = parse(minimal(
      "pool: { min_size: 0, reserve_size: 0, max_db_connections: 0, max_client_connections: 0 "
      "}\n"));
  check_default_pool(require_config(ok).pool);

  const LoadResult result = parse(minimal(R"(pool:
  min_size: -1
  reserve_size: two
  max_db_connections: 1.5
  max_client_connections: [1]
)"));
  check_error(result, "pool.min_size", 4, 13, "expected a whole number, got '-1'");
  check_error(result, "pool.reserve_size", 5, 17, "expected a whole number, got 'two'");
  check_error(result, "pool.max_db_connections", 6, 23, "expected a whole number");
  check_error(result, "pool.max_client_connections", 7, 27, "expected a single value, got a list");
  CHECK(result.errors.size() == 4);
}

TEST_CASE("min_size must not exceed size, on the merged values") {
  SUBCASE("at the top level") {
    const LoadResult result = parse(minimal("pool:\n  size: 4\n  min_size: 5\n"));
    check_error(result, "pool.min_size", 5, 13, "min_size (5) must not exceed size (4)");
    CHECK(result.errors.size() == 1);  // the database inheriting both is not reported again
  }
  SUBCASE("against the built-in default size") {
    const LoadResult result = parse(minimal("pool: { min_size: 21 }\n"));
    check_error(result, "pool.min_size", 3, 19, "must not exceed size (20) (size is the default)");
  }
  SUBCASE("a database against the top-level pool") {
    const LoadResult result = parse(R"(pool: { size: 10, min_size: 5 }
databases:
  big_min: { host: h, pool: { min_size: 11 } }
  small: { host: h, pool: { size: 4 } }
  both:
    host: h
    pool:
      size: 2
      min_size: 3
  fine: { host: h, pool: { size: 5, min_size: 5 } }
)");
    check_error(result, "databases.big_min.pool.min_size", 3, 41,
                "min_size (11) must not exceed size (10) (size from the top-level pool)");
    check_error(result, "databases.small.pool.size", 4, 35,
                "min_size (5) must not exceed size (4) (min_size from the top-level pool)");
    check_error(result, "databases.both.pool.min_size", 9, 17,
                "min_size (3) must not exceed size (2)");
    CHECK(result.errors.size() == 3);
    CHECK(result.errors[2].message.find("top-level") == std::string::npos);
  }
}

TEST_CASE("backoff validation") {
  const LoadResult result = parse(R"(pool:
  backoff:
    initial: 5s
    max: 1s
    multiplier: 0.5
    jitter: 1.5
databases:
  a: { host: h, pool: { backoff: { multiplier: fast, jitter: -0.1 } } }
  c: { host: h, pool: { backoff: { jitter: 1e-1, multiplier: inf } } }
  d: { host: h, pool: { backoff: 5s } }
  e: { host: h, pool: { backoff: { inital: 1s } } }
)");
  check_error(result, "pool.backoff.max", 4, 10,
              "backoff.max (1s) must not be less than backoff.initial (5s)");
  check_error(result, "pool.backoff.multiplier", 5, 17, "must be at least 1");
  check_error(result, "pool.backoff.jitter", 6, 13, "must be between 0 and 1, got 1.5");
  check_error(result, "databases.a.pool.backoff.multiplier", 8, 48,
              "expected a number such as 2 or 0.5, got 'fast'");
  check_error(result, "databases.a.pool.backoff.jitter", 8, 62, "between 0 and 1, got -0.1");
  check_error(result, "databases.c.pool.backoff.jitter", 9, 44, "expected a number");
  check_error(result, "databases.c.pool.backoff.multiplier", 9, 62, "expected a number");
  check_error(result, "databases.d.pool.backoff", 10, 34, "expected a mapping");
  check_error(result, "databases.e.pool.backoff.inital", 11, 36, "did you mean 'initial'?");
  CHECK(result.errors.size() == 9);

  // A database's initial against the inherited max, and the reverse; reported only where the
  // database writes one of the two.
  const LoadResult merged = parse(R"(pool: { backoff: { initial: 1s } }
databases:
  slow_start: { host: h, pool: { backoff: { initial: 20s } } }
  low_cap: { host: h, pool: { backoff: { max: 500ms } } }
  inherits: { host: h, pool: { backoff: { jitter: 0.3 } } }
)");
  check_error(merged, "databases.slow_start.pool.backoff.initial", 3, 54,
              "backoff.max (10s) must not be less than backoff.initial (20s) "
              "(max from the top-level pool)");
  check_error(merged, "databases.low_cap.pool.backoff.max", 4, 47,
              "backoff.max (500ms) must not be less than backoff.initial (1s) "
              "(initial from the top-level pool)");
  CHECK(merged.errors.size() == 2);

  const LoadResult edges = parse(minimal(
      "pool: { backoff: { initial: 1s, max: 1s, multiplier: 1, jitter: 0 } }\n"
      "timeouts: {}\n"));
  const BackoffSettings& backoff = require_config(edges).pool.backoff;
  CHECK(backoff.initial == 1s);
  CHECK(backoff.max == 1s);
  CHECK(backoff.multiplier == 1.0);
  CHECK(backoff.jitter == 0.0);
  const LoadResult forms =
      parse(minimal("pool: { backoff: { multiplier: 10.25, jitter: .5 } }\n"));
  CHECK(require_config(forms).pool.backoff.multiplier == 10.25);
  CHECK(require_config(forms).pool.backoff.jitter == 0.5);
  const LoadResult one = parse(minimal("pool: { backoff: { jitter: 1.0, max: 100ms } }\n"));
  CHECK(require_config(one).pool.backoff.jitter == 1.0);
}

TEST_CASE("fail_fast is true or false") {
  for (const char* yes : {"true", "True", "TRUE", "\"${FF:-true}\""}) {
    CHECK(require_config(parse(minimal(std::string("pool: { fail_fast: ") + yes + " }\n")))
              .pool.fail_fast);
  }
  CHECK_FALSE(require_config(parse(minimal("pool: { fail_fast: false }\n"))).pool.fail_fast);
  CHECK_FALSE(
      require_config(parse(minimal("pool: { fail_fast: \"${FF}\" }\n"), {{"FF", "FALSE"}}))
          .pool.fail_fast);

  const LoadResult result = parse(R"(pool: { fail_fast: yes }
databases:
  a: { host: h, pool: { fail_fast: 1 } }
  b: { host: h, pool: { fail_fast: on } }
  c: { host: h, pool: { fail_fast: } }
)");
  check_error(result, "pool.fail_fast", 1, 20, "expected true or false, got 'yes'");
  check_error(result, "databases.a.pool.fail_fast", 3, 36, "expected true or false, got '1'");
  check_error(result, "databases.b.pool.fail_fast", 4, 36, "got 'on'");
  check_error(result, "databases.c.pool.fail_fast", 5, 25, "expected a single value, got nothing");
  CHECK(result.errors.size() == 4);
}

TEST_CASE("unknown pool and timeouts keys suggest the new ones") {
  const LoadResult result = parse(minimal(R"(pool:
  server_idle_timout: 1m
  minsize: 1
timeouts:
  shutdown_timout: 1s
)"));
  check_error(result, "pool.server_idle_timout", 4, 3, "did you mean 'server_idle_timeout'?");
  check_error(result, "pool.minsize", 5, 3, "did you mean 'min_size'?");
  check_error(result, "timeouts.shutdown_timout", 7, 3, "did you mean 'shutdown_timeout'?");
  CHECK(result.errors.size() == 3);
}
