// Loading valid configurations: defaults, overrides, ${ENV}, find_database, files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "test_support.h"

using namespace ouroboros::config;
using namespace ouroboros::config::test;
using namespace std::chrono_literals;

namespace {
const std::string kVerifier =
    "SCRAM-SHA-256$4096:b3Vyb2Jvcm9zLXNhbHQxNg==$Vase7cE7nQT+7XtkapS8GfCBO13EQPkuc57W6kOGL/w=:"
    "dbHksVg+k3V3U/Wh0Gs7adBORs1BFDnVwr2RRQ0MeNY=";

const Config& require_config(const LoadResult& result) {
  INFO(all_errors(result));
  REQUIRE(result.errors.empty());
  REQUIRE(result.config.has_value());
  return *result.config;
}
}  // namespace

TEST_CASE("defaults fill every section that is left out") {
  const LoadResult result = parse(minimal());
  const Config& config = require_config(result);
  CHECK(result.warnings.empty());
  CHECK(config.source_file.empty());
  CHECK(config.listen.host == "127.0.0.1");
  CHECK(config.listen.port == 6432);
  CHECK(config.auth.type == AuthType::ScramSha256);
  CHECK(config.auth.users.empty());
  CHECK(config.pool.mode == PoolMode::Session);
  CHECK(config.pool.size == 20);
  CHECK(config.logging.level == "info");
  CHECK(config.logging.format == LogFormat::Text);
  CHECK(config.limits.max_message_size == 64u << 20);
  CHECK(config.limits.max_client_connections == 1000);
  CHECK(config.limits.buffer_high_water == 1u << 20);
  CHECK(config.timeouts.client_login_timeout == 60s);
  CHECK(config.timeouts.server_connect_timeout == 15s);

  REQUIRE(config.databases.size() == 1);
  const DatabaseConfig& db = config.databases.at("appdb");
  CHECK(db.name == "appdb");
  CHECK(db.host == "db.local");
  CHECK(db.port == 5432);
  CHECK(db.dbname == "appdb");  // defaults to the entry's name
  CHECK_FALSE(db.user);
  CHECK_FALSE(db.password);
  CHECK(db.pool.mode == PoolMode::Session);
  CHECK(db.pool.size == 20);
}

TEST_CASE("every key is read") {
  const LoadResult result = parse(R"(listen: { host: 0.0.0.0, port: 7000 }
auth:
  type: md5
  users:
    app: { password: "${APP_PASSWORD}", pool_mode: statement }
    report: { password: md50e9070b976a76706bb4bc4369e934be1 }
pool: { mode: transaction, size: 5 }
databases:
  appdb:
    host: pg1
    port: 5433
    dbname: app
    user: backend
    password: "${DB_PASSWORD}"
    pool: { mode: session, size: 10 }
logging: { level: debug, format: json }
limits: { max_message_size: 16MB, max_client_connections: 50, buffer_high_water: 256kB }
timeouts: { client_login_timeout: 2m, server_connect_timeout: 1500ms }
)",
                                  {{"APP_PASSWORD", "s3cret"}, {"DB_PASSWORD", "backend-pw"}});
  const Config& config = require_config(result);
  CHECK(result.warnings.empty());
  CHECK(config.listen.host == "0.0.0.0");
  CHECK(config.listen.port == 7000);
  CHECK(config.auth.type == AuthType::Md5);
  REQUIRE(config.auth.users.size() == 2);
  const UserConfig& app = config.auth.users.at("app");
  CHECK(app.name == "app");
  CHECK(app.password == "s3cret");
  CHECK(app.pool_mode == PoolMode::Statement);
  const UserConfig& report = config.auth.users.at("report");
  CHECK(report.password == "md50e9070b976a76706bb4bc4369e934be1");
  CHECK_FALSE(report.pool_mode);
  CHECK(config.pool.mode == PoolMode::Transaction);
  CHECK(config.pool.size == 5);
  const DatabaseConfig& db = config.databases.at("appdb");
  CHECK(db.host == "pg1");
  CHECK(db.port == 5433);
  CHECK(db.dbname == "app");
  CHECK(db.user == "backend");
  CHECK(db.password == "backend-pw");
  CHECK(db.pool.mode == PoolMode::Session);
  CHECK(db.pool.size == 10);
  CHECK(config.logging.level == "debug");
  CHECK(config.logging.format == LogFormat::Json);
  CHECK(config.limits.max_message_size == 16u << 20);
  CHECK(config.limits.max_client_connections == 50);
  CHECK(config.limits.buffer_high_water == 256u << 10);
  CHECK(config.timeouts.client_login_timeout == 120s);
  CHECK(config.timeouts.server_connect_timeout == 1500ms);
}

TEST_CASE("a database's pool overlays only the keys it gives on the defaults") {
  const LoadResult result = parse(R"(pool: { mode: transaction, size: 7 }
databases:
  inherits: { host: h }
  size_only: { host: h, pool: { size: 3 } }
  mode_only: { host: h, pool: { mode: statement } }
  empty_pool: { host: h, pool: {} }
  null_pool:
    host: h
    pool:
)");
  const Config& config = require_config(result);
  auto pool = [&](const char* name) { return config.databases.at(name).pool; };
  CHECK(pool("inherits").mode == PoolMode::Transaction);
  CHECK(pool("inherits").size == 7);
  CHECK(pool("size_only").mode == PoolMode::Transaction);
  CHECK(pool("size_only").size == 3);
  CHECK(pool("mode_only").mode == PoolMode::Statement);
  CHECK(pool("mode_only").size == 7);
  CHECK(pool("empty_pool").size == 7);
  CHECK(pool("null_pool").mode == PoolMode::Transaction);
  CHECK(config.pool.size == 7);  // the defaults stay as written
}

TEST_CASE("find_database: exact entry, then the wildcard, else nothing") {
  const LoadResult with_wildcard = parse(R"(databases:
  appdb: { host: h1, dbname: app }
  "*": { host: h2, port: 5434, pool: { size: 4 } }
)");
  const Config& config = require_config(with_wildcard);
  CHECK(config.databases.at("*").dbname.empty());

  const auto exact = config.find_database("appdb");
  REQUIRE(exact);
  CHECK(exact->name == "appdb");
  CHECK(exact->host == "h1");
  CHECK(exact->dbname == "app");

  const auto other = config.find_database("analytics");
  REQUIRE(other);
  CHECK(other->name == "analytics");
  CHECK(other->dbname == "analytics");
  CHECK(other->host == "h2");
  CHECK(other->port == 5434);
  CHECK(other->pool.size == 4);

  const LoadResult fixed = parse("databases:\n  \"*\": { host: h, dbname: shared }\n");
  const auto shared = require_config(fixed).find_database("anything");
  REQUIRE(shared);
  CHECK(shared->name == "anything");
  CHECK(shared->dbname == "shared");

  const LoadResult without = parse(minimal());
  CHECK_FALSE(require_config(without).find_database("analytics"));
  CHECK(require_config(without).find_database("appdb"));
}

TEST_CASE("${ENV} substitution happens before type conversion") {
  const std::string yaml = R"(listen:
  host: ${LISTEN_HOST:-localhost}
  port: ${LISTEN_PORT:-6432}
pool: { size: "${POOL_SIZE:-9}" }
databases:
  appdb: { host: "${PGHOST}", port: "${PGPORT:-5432}" }
timeouts: { client_login_timeout: "${LOGIN_TIMEOUT:-30s}" }
)";
  SUBCASE("defaults") {
    const LoadResult result = parse(yaml, {{"PGHOST", "pg"}});
    const Config& config = require_config(result);
    CHECK(config.listen.host == "localhost");
    CHECK(config.listen.port == 6432);
    CHECK(config.pool.size == 9);
    CHECK(config.databases.at("appdb").host == "pg");
    CHECK(config.databases.at("appdb").port == 5432);
    CHECK(config.timeouts.client_login_timeout == 30s);
  }
  SUBCASE("values from the environment") {
    const LoadResult result = parse(yaml, {{"PGHOST", "pg"},
                                           {"PGPORT", "15432"},
                                           {"LISTEN_PORT", "0"},
                                           {"POOL_SIZE", "2"},
                                           {"LOGIN_TIMEOUT", "5s"},
                                           {"LISTEN_HOST", "::1"}});
    const Config& config = require_config(result);
    CHECK(config.listen.host == "::1");
    CHECK(config.listen.port == 0);
    CHECK(config.pool.size == 2);
    CHECK(config.databases.at("appdb").port == 15432);
    CHECK(config.timeouts.client_login_timeout == 5s);
  }
  SUBCASE("a substituted value is still validated") {
    const LoadResult result = parse(yaml, {{"PGHOST", "pg"}, {"PGPORT", "99999"}});
    check_error(result, "databases.appdb.port", 6, 37, "out of range");
  }
}

TEST_CASE("$$ is a literal dollar sign in values") {
  const LoadResult result = parse(R"(auth:
  users:
    app: { password: "pa$$${SUFFIX}$x" }
databases: { appdb: { host: h } }
)",
                                  {{"SUFFIX", "42"}});
  CHECK(require_config(result).auth.users.at("app").password == "pa$42$x");
}

TEST_CASE("warnings: plain-text passwords written in the file and trust") {
  SUBCASE("plain text in the file") {
    const LoadResult result = parse(R"(auth:
  users:
    app: { password: secret }
databases:
  appdb: { host: h, password: backend-secret }
)");
    require_config(result);
    REQUIRE(result.warnings.size() == 2);
    CHECK(result.warnings[0].find("test.yaml:3:22: auth.users.app.password") == 0);
    CHECK(has_warning(result, "SCRAM verifier"));
    CHECK(has_warning(result, "${ENV_VAR}"));
    CHECK(result.warnings[1].find("databases.appdb.password") != std::string::npos);
  }
  SUBCASE("no warning for hashes, verifiers or values from the environment") {
    const LoadResult result = parse(R"(auth:
  type: md5
  users:
    a: { password: ")" + kVerifier + R"(" }
    b: { password: md50e9070b976a76706bb4bc4369e934be1 }
    c: { password: "${C_PASSWORD}" }
databases: { appdb: { host: h, password: "${DB_PASSWORD}" } }
)",
                                    {{"C_PASSWORD", "plain"}, {"DB_PASSWORD", "plain"}});
    require_config(result);
    CHECK(result.warnings.empty());
  }
  SUBCASE("trust") {
    const LoadResult result = parse(R"(auth:
  type: trust
  users:
    app: {}
    other:
databases: { appdb: { host: h } }
)");
    const Config& config = require_config(result);
    CHECK(config.auth.type == AuthType::Trust);
    CHECK(config.auth.users.at("app").password.empty());
    CHECK(config.auth.users.count("other") == 1);
    REQUIRE(result.warnings.size() == 1);
    CHECK(has_warning(result, "test.yaml:2:9: auth.type: auth.type is trust"));
  }
}

TEST_CASE("ConfigError::to_string") {
  CHECK(ConfigError{"f.yaml", 3, 7, "pool.size", "must be at least 1"}.to_string() ==
        "f.yaml:3:7: pool.size: must be at least 1");
  CHECK(ConfigError{"f.yaml", 0, 0, "", "cannot read"}.to_string() == "f.yaml: cannot read");
  CHECK(ConfigError{"", 1, 2, "k", "m"}.to_string() == "<config>:1:2: k: m");
}

TEST_CASE("process_environment reads the real environment") {
  ::setenv("OUROBOROS_CONFIG_TEST_VAR", "hello", 1);
  const EnvLookup env = process_environment();
  CHECK(env("OUROBOROS_CONFIG_TEST_VAR") == "hello");
  ::unsetenv("OUROBOROS_CONFIG_TEST_VAR");
  CHECK_FALSE(env("OUROBOROS_CONFIG_TEST_VAR"));
}

TEST_CASE("load_config_file reads a file and names it in errors") {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("ouroboros-config-test-" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(path);
    out << "databases:\n  appdb: { host: h, port: 0 }\n";
  }
  const LoadResult bad = load_config_file(path.string(), fake_env());
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].file == path.string());
  CHECK(bad.errors[0].line == 2);
  CHECK(bad.errors[0].column == 27);
  CHECK(bad.errors[0].key == "databases.appdb.port");
  {
    std::ofstream out(path);
    out << minimal();
  }
  const LoadResult good = load_config_file(path.string(), fake_env());
  REQUIRE(good.config);
  CHECK(good.config->source_file == path.string());
  std::filesystem::remove(path);

  const LoadResult missing = load_config_file(path.string(), fake_env());
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].file == path.string());
  CHECK(missing.errors[0].message.find("cannot read") != std::string::npos);
  CHECK_FALSE(load_config_file(std::filesystem::temp_directory_path().string(), fake_env()).config);
}
