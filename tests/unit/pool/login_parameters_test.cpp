#include "pool/login_parameters.h"

#include <doctest/doctest.h>

#include <map>

using namespace ouroboros::pool;

namespace {
std::map<std::string, std::string> as_map(const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}
}  // namespace

TEST_CASE("an empty cache has nothing to offer") {
  LoginParameters cache;
  CHECK(cache.empty());
  CHECK(cache.for_client({}).empty());
}

TEST_CASE("a client gets the server's report with its own settings in place") {
  LoginParameters cache;
  cache.learn({{"server_version", "15.8"}, {"TimeZone", "Etc/UTC"}, {"DateStyle", "ISO, MDY"},
               {"application_name", ""}},
              {});
  REQUIRE_FALSE(cache.empty());
  auto params = as_map(cache.for_client({{"timezone", "Europe/Paris"}, {"application_name", "billing"},
                                         {"server_version", "99"}, {"search_path", "app"}}));
  CHECK(params.at("TimeZone") == "Europe/Paris");
  CHECK(params.at("application_name") == "billing");
  CHECK(params.at("DateStyle") == "ISO, MDY");
  CHECK(params.at("server_version") == "15.8");  // read-only: the client cannot choose it
  CHECK(params.count("search_path") == 0);        // not reported by PostgreSQL, not invented
}

TEST_CASE("values a session client asked for at server startup are not taken as defaults") {
  LoginParameters cache;
  cache.learn({{"application_name", "psql"}, {"TimeZone", "Asia/Tokyo"}, {"server_version", "15.8"}},
              {{"application_name", "psql"}, {"options", "-c TimeZone=Asia/Tokyo"}});
  auto params = as_map(cache.for_client({}));
  CHECK(params.at("application_name") == "");
  // Nothing better is known yet; a later server opened without the setting reports the default.
  CHECK(params.at("TimeZone") == "Asia/Tokyo");
  cache.learn({{"application_name", ""}, {"TimeZone", "UTC"}, {"server_version", "15.8"}}, {});
  params = as_map(cache.for_client({}));
  CHECK(params.at("TimeZone") == "UTC");
  // A later client-chosen value never replaces a known default.
  cache.learn({{"TimeZone", "America/Lima"}}, {{"TimeZone", "America/Lima"}});
  CHECK(as_map(cache.for_client({})).at("TimeZone") == "UTC");
}
