// The example configuration shipped in config/ouroboros.yaml must always load.
#include <doctest/doctest.h>

#include <fstream>

#include "test_support.h"

using namespace ouroboros::config;
using namespace ouroboros::config::test;

namespace {
const std::string kShipped = std::string(OUROBOROS_SOURCE_DIR) + "/config/ouroboros.yaml";
}

TEST_CASE("config/ouroboros.yaml loads with the demo's environment") {
  const LoadResult result = load_config_file(
      kShipped, fake_env({{"APP_PASSWORD", "app_password"}, {"OUROBOROS_PG_PORT", "15432"}}));
  INFO(all_errors(result));
  REQUIRE(result.errors.empty());
  REQUIRE(result.config);
  CHECK(result.warnings.empty());
  const Config& config = *result.config;
  CHECK(config.source_file == kShipped);
  CHECK(config.listen.port == 6432);
  CHECK(config.auth.type == AuthType::ScramSha256);
  CHECK(config.auth.users.at("app").password == "app_password");
  const auto app = config.find_database("app");
  REQUIRE(app);
  CHECK(app->dbname == "app");
  CHECK(app->port == 15432);
  CHECK(app->pool.mode == PoolMode::Session);
  const auto other = config.find_database("postgres");
  REQUIRE(other);
  CHECK(other->dbname == "postgres");
  CHECK(other->port == 15432);
  CHECK(config.pool.server_idle_timeout == std::chrono::minutes(10));
  CHECK(config.pool.backoff.max == std::chrono::seconds(10));
  CHECK(config.timeouts.shutdown_timeout == std::chrono::seconds(30));
}

TEST_CASE("config/ouroboros.yaml: the commented transaction-mode example loads when enabled") {
  std::ifstream in(kShipped);
  std::string enabled;
  bool in_example = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  # app_tx:", 0) == 0) in_example = true;
    if (in_example && line.rfind("  # ", 0) == 0) {
      line.erase(2, 2);  // "  # key" -> "  key"
    } else {
      in_example = false;
    }
    enabled += line + "\n";
  }
  const LoadResult result = parse_config(
      enabled, kShipped, fake_env({{"APP_PASSWORD", "app_password"}}));
  INFO(all_errors(result));
  REQUIRE(result.config);
  const auto tx = result.config->find_database("app_tx");
  REQUIRE(tx);
  CHECK(tx->name == "app_tx");
  CHECK(tx->pool.mode == PoolMode::Transaction);
  CHECK(tx->pool.size == 10);
  CHECK(tx->pool.query_timeout == std::chrono::seconds(30));
  CHECK(tx->pool.server_lifetime == std::chrono::hours(1));  // from the top-level pool
}

TEST_CASE("config/ouroboros.yaml needs APP_PASSWORD") {
  const LoadResult result = load_config_file(kShipped, fake_env());
  CHECK_FALSE(result.config);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].key == "auth.users.app.password");
  CHECK(result.errors[0].message.find("APP_PASSWORD") != std::string::npos);
}

TEST_CASE("config/ouroboros-tls.yaml loads and asks for TLS on both legs") {
  const LoadResult result = load_config_file(std::string(OUROBOROS_SOURCE_DIR) + "/config/ouroboros-tls.yaml",
                                             fake_env({{"APP_PASSWORD", "app_password"}}));
  INFO(all_errors(result));
  REQUIRE(result.config);
  CHECK(result.config->listen.tls.mode == ClientTlsMode::Require);
  CHECK(result.config->listen.tls.client_certificate == ClientCertificate::Optional);
  const auto app = result.config->find_database("app");
  REQUIRE(app);
  CHECK(app->tls.mode == ServerTlsMode::VerifyFull);
  CHECK(app->tls.ca_file == "/etc/ouroboros/tls/db-ca.crt");
}

TEST_CASE("config/ouroboros.yaml: the commented hba_file, auth query and Unix socket examples load when enabled") {
  std::ifstream in(kShipped);
  std::string enabled;
  bool in_query = false;
  for (std::string line; std::getline(in, line);) {
    bool query_line = line.rfind("  # query:", 0) == 0 || (in_query && line.rfind("  #   ", 0) == 0);
    in_query = query_line;
    if (query_line || line.rfind("  # hba_file:", 0) == 0 || line.rfind("  # unix_socket_dir:", 0) == 0)
      line.erase(2, 2);  // "  # key" -> "  key"
    enabled += line + "\n";
  }
  const LoadResult result =
      parse_config(enabled, kShipped, fake_env({{"APP_PASSWORD", "app_password"}, {"AUTH_PASSWORD", "pw"}}));
  INFO(all_errors(result));
  REQUIRE(result.config);
  CHECK(result.config->listen.unix_socket_dir == "/run/ouroboros");
  REQUIRE(result.config->auth.hba);  // config/hba.conf, next to the YAML file
  CHECK(result.config->auth.hba->rules.size() == 4);
  REQUIRE(result.config->auth.query);
  CHECK(result.config->auth.query->user == "ouroboros_auth");
  CHECK(result.config->auth.query->sql == "SELECT usename, passwd, valuntil FROM pg_shadow WHERE usename = $1");
  CHECK(result.config->auth.query->cache_ttl == std::chrono::seconds(60));
}
