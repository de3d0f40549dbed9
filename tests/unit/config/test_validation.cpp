// Every validation rule: the error names the key, line and column, and all errors are collected.
#include <doctest/doctest.h>

#include "test_support.h"

using namespace ouroboros::config;
using namespace ouroboros::config::test;

TEST_CASE("YAML syntax errors carry the parser's position") {
  const LoadResult result = parse("databases:\n  appdb: { host: h\nlogging: {}\n");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].line >= 2);
  CHECK(result.errors[0].column >= 1);
  CHECK(result.errors[0].message.find("YAML syntax error") == 0);
  CHECK_FALSE(result.config);

  const LoadResult indented = parse("listen: 1\n  port: 2\n");
  REQUIRE(indented.errors.size() == 1);
  CHECK(indented.errors[0].line == 2);
  CHECK(indented.errors[0].column == 7);
}

TEST_CASE("more than one YAML document is an error") {
  check_error(parse(minimal("---\nlisten: {}\n")), "", 4, 1, "more than one YAML document");
}

// Found by fuzz_config: yaml-cpp 0.7's LoadAll() never returns (and allocates without bound) on a
// stray ',' at the top level; the loader must report it instead.
TEST_CASE("a stray comma at the top level is reported, not a hang") {
  for (const std::string text : {"\n,\n", "listen: {port: 6432}\n , port: 1\n"}) {
    CAPTURE(text);
    const LoadResult result = parse(text);
    CHECK_FALSE(result.config.has_value());
    CHECK_FALSE(result.errors.empty());
  }
}

TEST_CASE("the top level must be a mapping") {
  check_error(parse("- a\n- b\n"), "", 1, 1, "expected a mapping");
  check_error(parse("just text\n"), "", 1, 1, "expected a mapping");
}

TEST_CASE("unknown keys suggest the closest valid key") {
  const LoadResult result = parse(R"(listen: { host: h, prot: 1 }
databses: {}
databases:
  appdb: { host: h, dbnmae: x, frobnicate: 1 }
limits: { max_mesage_size: 1MB }
)");
  check_error(result, "listen.prot", 1, 20, "unknown key 'prot'; did you mean 'port'?");
  check_error(result, "databses", 2, 1, "did you mean 'databases'?");
  check_error(result, "databases.appdb.dbnmae", 4, 21, "did you mean 'dbname'?");
  check_error(
      result, "databases.appdb.frobnicate", 4, 32,
      "unknown key 'frobnicate'; valid keys here are: host, port, dbname, user, password, pool, tls");
  check_error(result, "limits.max_mesage_size", 5, 11, "did you mean 'max_message_size'?");
  CHECK(result.errors.size() == 5);
}

TEST_CASE("duplicate keys are errors") {
  check_error(parse("databases:\n  appdb: { host: a, host: b }\n"), "databases.appdb.host", 2, 21,
              "duplicate key 'host'");
  check_error(parse(minimal("listen: {}\nlisten: {}\n")), "listen", 4, 1, "duplicate key");
}

TEST_CASE("wrong types") {
  const LoadResult result = parse(R"(listen: [1, 2]
auth: { users: [app] }
pool: { size: { a: 1 } }
databases:
  appdb: { host: [h1, h2], port: 5432 }
logging: warn
)");
  check_error(result, "listen", 1, 9, "expected a mapping (key: value lines), got a list");
  check_error(result, "auth.users", 2, 16, "expected a mapping");
  check_error(result, "pool.size", 3, 15, "expected a single value, got a mapping");
  check_error(result, "databases.appdb.host", 5, 18, "expected a single value, got a list");
  check_error(result, "logging", 6, 10, "expected a mapping");
  CHECK(result.errors.size() == 5);
}

TEST_CASE("an empty value where a single value is needed points at the key") {
  check_error(parse("databases:\n  appdb:\n    host:\n"), "databases.appdb.host", 3, 5,
              "expected a single value, got nothing");
}

TEST_CASE("ports") {
  const LoadResult result = parse(R"(listen: { port: 65536 }
databases:
  a: { host: h, port: 0 }
  b: { host: h, port: 70000 }
  c: { host: h, port: abc }
  d: { host: h, port: -1 }
  e: { host: h, port: 65535 }
  f: { host: h, port: 1 }
)");
  check_error(result, "listen.port", 1, 17, "out of range 0..65535");
  check_error(result, "databases.a.port", 3, 23, "out of range 1..65535");
  check_error(result, "databases.b.port", 4, 23, "out of range 1..65535");
  check_error(result, "databases.c.port", 5, 23, "expected a port number");
  check_error(result, "databases.d.port", 6, 23, "expected a port number");
  CHECK(result.errors.size() == 5);

  const LoadResult zero = parse(minimal("listen: { port: 0 }\n"));
  REQUIRE(zero.config);
  CHECK(zero.config->listen.port == 0);
}

TEST_CASE("databases: missing, empty, without host, reserved name") {
  check_error(parse("listen: { port: 1 }\n"), "databases", 1, 1,
              "missing required section 'databases'");
  check_error(parse("databases: {}\n"), "databases", 1, 12, "no databases defined");
  check_error(parse("databases:\n"), "databases", 1, 1, "no databases defined");
  check_error(parse("databases: [a]\n"), "databases", 1, 12, "expected a mapping");
  check_error(parse(""), "databases", 0, 0, "missing required section");

  const LoadResult result = parse(R"(databases:
  nohost: { port: 5432 }
  empty:
  ouroboros: { host: h }
  blank: { host: "" }
)");
  check_error(result, "databases.nohost.host", 2, 3, "database 'nohost' has no host");
  check_error(result, "databases.empty.host", 3, 3, "database 'empty' has no host");
  check_error(result, "databases.ouroboros", 4, 3, "reserved for the admin console");
  check_error(result, "databases.blank.host", 5, 18, "must not be empty");
  CHECK(result.errors.size() == 4);
}

TEST_CASE("pool.size must be at least 1 and a whole number") {
  const LoadResult result = parse(R"(pool: { size: 0 }
databases:
  a: { host: h, pool: { size: 0 } }
  b: { host: h, pool: { size: ten } }
  c: { host: h, pool: { size: 1.5 } }
)");
  check_error(result, "pool.size", 1, 15, "must be at least 1");
  check_error(result, "databases.a.pool.size", 3, 31, "must be at least 1");
  check_error(result, "databases.b.pool.size", 4, 31, "expected a whole number, got 'ten'");
  check_error(result, "databases.c.pool.size", 5, 31, "expected a whole number");
  CHECK(result.errors.size() == 4);
}

TEST_CASE("unknown enum values list the valid ones") {
  const LoadResult result = parse(R"(auth:
  type: password
  users:
    app: { password: "${P}", pool_mode: sessions }
pool: { mode: Session }
databases:
  a: { host: h, pool: { mode: batch } }
logging: { level: verbose, format: xml }
)",
                                  {{"P", "x"}});
  check_error(result, "auth.type", 2, 9,
              "unknown value 'password'; valid values are: scram-sha-256, md5, trust");
  check_error(result, "auth.users.app.pool_mode", 4, 41,
              "unknown value 'sessions'; valid values are: session, transaction, statement");
  check_error(result, "pool.mode", 5, 15, "valid values are: session, transaction, statement");
  check_error(result, "databases.a.pool.mode", 7, 31, "unknown value 'batch'");
  check_error(
      result, "logging.level", 8, 19,
      "unknown value 'verbose'; valid values are: trace, debug, info, warn, error, critical, off");
  check_error(result, "logging.format", 8, 36, "valid values are: text, json");
  CHECK(result.errors.size() == 6);
}

TEST_CASE("every logging level is accepted") {
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    const LoadResult result = parse(minimal(std::string("logging: { level: ") + level + " }\n"));
    REQUIRE(result.config);
    CHECK(result.config->logging.level == level);
  }
}

TEST_CASE("users need a password unless auth.type is trust") {
  const LoadResult result = parse(R"(auth:
  users:
    nopass: { pool_mode: session }
    nothing:
    empty: { password: "" }
databases: { a: { host: h } }
)");
  check_error(result, "auth.users.nopass.password", 3, 5, "user 'nopass' has no password");
  check_error(result, "auth.users.nothing.password", 4, 5, "user 'nothing' has no password");
  check_error(result, "auth.users.empty.password", 5, 24, "password is empty");
  CHECK(result.errors.size() == 3);

  const LoadResult md5 =
      parse("auth:\n  type: md5\n  users:\n    app: {}\ndatabases: { a: { host: h } }\n");
  check_error(md5, "auth.users.app.password", 4, 5, "required unless auth.type is trust");
}

TEST_CASE("md5 hashes and SCRAM verifiers must be well formed") {
  const LoadResult result = parse(R"(auth:
  type: md5
  users:
    short: { password: md5abc }
    upper: { password: MD50E9070B976A76706BB4BC4369E934BE1 }
    caps: { password: md50E9070B976A76706BB4BC4369E934BE1 }
    scram: { password: "SCRAM-SHA-256$4096:c2FsdA==$bm90IGEga2V5" }
databases:
  a: { host: h, password: md5zzz }
)");
  check_error(result, "auth.users.short.password", 4, 24, "invalid md5 password hash");
  check_error(result, "auth.users.caps.password", 6, 23, "32 lowercase hex digits");
  check_error(result, "auth.users.scram.password", 7, 24, "malformed SCRAM verifier");
  check_error(result, "databases.a.password", 9, 27, "invalid md5 password hash");
  CHECK(result.errors.size() == 4);  // "MD5..." does not start with "md5": plain text
  CHECK(has_warning(result, "auth.users.upper.password"));
}

TEST_CASE("password formats that cannot work with the configured authentication") {
  const LoadResult result = parse(R"(auth:
  type: scram-sha-256
  users:
    app: { password: md50e9070b976a76706bb4bc4369e934be1 }
databases:
  a:
    host: h
    password: "SCRAM-SHA-256$4096:b3Vyb2Jvcm9zLXNhbHQxNg==$Vase7cE7nQT+7XtkapS8GfCBO13EQPkuc57W6kOGL/w=:dbHksVg+k3V3U/Wh0Gs7adBORs1BFDnVwr2RRQ0MeNY="
)");
  check_error(result, "auth.users.app.password", 4, 22,
              "an md5 hash cannot check a scram-sha-256 login");
  check_error(result, "databases.a.password", 8, 15, "a SCRAM verifier cannot be used to log in");
  CHECK(result.errors.size() == 2);
}

TEST_CASE("durations need units") {
  const LoadResult result = parse(minimal(R"(timeouts:
  client_login_timeout: 60
  server_connect_timeout: 5 parsecs
)"));
  check_error(result, "timeouts.client_login_timeout", 4, 25, "units are required");
  check_error(result, "timeouts.server_connect_timeout", 5, 27, "invalid duration '5 parsecs'");
  CHECK(result.errors.size() == 2);
  check_error(parse(minimal("timeouts: { client_login_timeout: 0s }\n")),
              "timeouts.client_login_timeout", 3, 35, "greater than zero");
}

TEST_CASE("sizes and counts in limits") {
  const LoadResult result = parse(minimal(R"(limits:
  max_message_size: 64 potatoes
  max_client_connections: 0
  buffer_high_water: 0kB
)"));
  check_error(result, "limits.max_message_size", 4, 21, "invalid size '64 potatoes'");
  check_error(result, "limits.max_client_connections", 5, 27, "must be at least 1");
  check_error(result, "limits.buffer_high_water", 6, 22, "greater than zero");
  CHECK(result.errors.size() == 3);
  const LoadResult bytes = parse(minimal("limits: { max_message_size: 4096 }\n"));
  REQUIRE(bytes.config);
  CHECK(bytes.config->limits.max_message_size == 4096);
}

TEST_CASE("an unset environment variable names the variable and the key") {
  const LoadResult result = parse(R"(databases:
  appdb:
    host: "${PGHOST}"
    port: ${PGPORT}
)");
  check_error(result, "databases.appdb.host", 3, 11, "environment variable 'PGHOST' is not set");
  check_error(result, "databases.appdb.port", 4, 11, "'PGPORT' is not set");
  CHECK(result.errors.size() == 2);
  CHECK(result.errors[0].to_string().find("test.yaml:3:11: databases.appdb.host:") == 0);

  check_error(parse("databases:\n  a: { host: \"${BROKEN\" }\n"), "databases.a.host", 2, 14,
              "unterminated");
}

TEST_CASE("all errors are collected, in file order") {
  const LoadResult result = parse(R"(listen: { port: 0x10 }
pool: { size: 0, mode: fast }
databases:
  ouroboros: { host: h }
  a: { port: 1 }
timeouts: { client_login_timeout: 10 }
)");
  REQUIRE(result.errors.size() == 6);
  CHECK(result.errors[0].key == "listen.port");
  CHECK(result.errors[1].key == "pool.size");
  CHECK(result.errors[2].key == "pool.mode");
  CHECK(result.errors[3].key == "databases.ouroboros");
  CHECK(result.errors[4].key == "databases.a.host");
  CHECK(result.errors[5].key == "timeouts.client_login_timeout");
  CHECK_FALSE(result.config);
}

TEST_CASE("database names with dots are quoted in key paths") {
  check_error(parse("databases:\n  my.db: { port: 1 }\n"), "databases.\"my.db\".host", 2, 3,
              "has no host");
}
