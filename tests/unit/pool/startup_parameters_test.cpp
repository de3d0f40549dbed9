// Startup parameters: what is forwarded, how servers are matched to clients, and the SET
// statements that bring a server in line with a client.
#include "pool/startup_parameters.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace ouroboros::pool;

TEST_CASE("session_parameters drops user, database and replication and keeps the order") {
  const std::vector<std::pair<std::string, std::string>> client = {
      {"user", "alice"},       {"application_name", "psql"}, {"database", "db"},
      {"replication", "true"}, {"TimeZone", "UTC"},          {"options", "-c geqo=off"}};
  const StartupParameters expected = {
      {"application_name", "psql"}, {"TimeZone", "UTC"}, {"options", "-c geqo=off"}};
  CHECK(session_parameters(client) == expected);
  CHECK(session_parameters({}).empty());
  CHECK(session_parameters({{"user", "u"}}).empty());
}

// Found by fuzz_startup: with a name sent twice, the key and the SET statements looked at the
// first value while PostgreSQL applies the last, so clients asking for different values could
// share a server unsynchronised.
TEST_CASE("session_parameters keeps the last value of a name sent twice, in any case") {
  const std::vector<std::pair<std::string, std::string>> first = {
      {"user", "u"}, {"search_path", "a"}, {"TimeZone", "UTC"}, {"SEARCH_PATH", "b"}};
  const std::vector<std::pair<std::string, std::string>> second = {
      {"user", "u"}, {"SEARCH_PATH", "b"}, {"TimeZone", "UTC"}, {"search_path", "a"}};
  CHECK(session_parameters(first) == StartupParameters{{"TimeZone", "UTC"}, {"SEARCH_PATH", "b"}});
  CHECK(session_parameters(second) == StartupParameters{{"TimeZone", "UTC"}, {"search_path", "a"}});
  CHECK(parameters_key(session_parameters(first)) != parameters_key(session_parameters(second)));
  CHECK(sync_sql(session_parameters(first), session_parameters(second)) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('search_path', 'a', false)"));
  CHECK(sync_sql(session_parameters(first), session_parameters(first)) == std::optional<std::string>(""));
}

// Found by fuzz_startup running slowly: a 10,000-byte start-up packet holds thousands of
// parameters, and both steps compared every name with every other (millions of string copies per
// login). They now index names; this checks the outcome at that size.
TEST_CASE("session_parameters and sync_sql with thousands of parameters, many sent twice") {
  std::vector<std::pair<std::string, std::string>> client = {{"user", "u"}};
  for (int i = 0; i < 3000; ++i) client.emplace_back("p" + std::to_string(i % 2000), std::to_string(i));
  const StartupParameters params = session_parameters(client);
  REQUIRE(params.size() == 2000);
  // Names sent twice (p0..p999) keep their second value and stand where it was sent.
  CHECK(params.front() == std::pair<std::string, std::string>{"p1000", "1000"});
  CHECK(params[1000] == std::pair<std::string, std::string>{"p0", "2000"});
  CHECK(params.back() == std::pair<std::string, std::string>{"p999", "2999"});
  CHECK(sync_sql(params, params) == std::optional<std::string>(""));

  StartupParameters changed = params;
  changed[1].second = "other";
  CHECK(sync_sql(params, changed) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('p1001', 'other', false)"));
  changed.pop_back();  // the server has a setting the client lacks: it cannot be synchronised
  CHECK(sync_sql(params, changed) == std::nullopt);
}

TEST_CASE("is_connection_parameter") {
  CHECK(is_connection_parameter("user"));
  CHECK(is_connection_parameter("database"));
  CHECK(is_connection_parameter("replication"));
  CHECK_FALSE(is_connection_parameter("application_name"));
  CHECK_FALSE(is_connection_parameter("options"));
  CHECK_FALSE(is_connection_parameter(""));
  CHECK_FALSE(is_connection_parameter("username"));
}

TEST_CASE("parameters_key ignores order and the case of names, not of values") {
  const StartupParameters a = {{"application_name", "x"}, {"TimeZone", "UTC"}};
  const StartupParameters b = {{"timezone", "UTC"}, {"APPLICATION_NAME", "x"}};
  CHECK(parameters_key(a) == parameters_key(b));

  CHECK(parameters_key(a) != parameters_key({{"application_name", "x"}, {"TimeZone", "utc"}}));
  CHECK(parameters_key(a) != parameters_key({{"application_name", "y"}, {"TimeZone", "UTC"}}));
  CHECK(parameters_key(a) != parameters_key({{"application_name", "x"}}));
  CHECK(parameters_key(a) !=
        parameters_key({{"application_name", "x"}, {"TimeZone", "UTC"}, {"geqo", "off"}}));
  CHECK(parameters_key({}) == "");
  CHECK(parameters_key({{"a", ""}}) != "");
  // Name/value boundaries matter.
  CHECK(parameters_key({{"ab", "c"}}) != parameters_key({{"a", "bc"}}));
}

// Was a bug (fixed): parameters_key joins names and values with \x1f and \x1e, which may occur inside a
// client's parameter values (any byte but NUL is allowed). Different parameter sets then share
// one key, so ServerPool reports params_match=true and the client gets a server whose settings
// differ from what it asked for (here: another client's TimeZone) without any SET being run.
TEST_CASE("parameters_key: different parameter sets never share a key") {
  const StartupParameters honest = {{"application_name", "x"}, {"timezone", "UTC"}};
  const StartupParameters crafted = {{"application_name", "x\x1etimezone\x1fUTC"}};
  CHECK(parameters_key(honest) != parameters_key(crafted));
}

TEST_CASE("sync_sql: nothing to do for equal sets") {
  CHECK(sync_sql({}, {}) == std::optional<std::string>(""));
  CHECK(sync_sql({{"application_name", "x"}, {"TimeZone", "UTC"}},
                 {{"timezone", "UTC"}, {"application_name", "x"}}) == std::optional<std::string>(""));
  CHECK(sync_sql({{"options", "-c geqo=off"}}, {{"OPTIONS", "-c geqo=off"}}) ==
        std::optional<std::string>(""));
}

TEST_CASE("sync_sql: set_config for each differing or missing value, in the client's order") {
  CHECK(sync_sql({{"application_name", "a"}, {"TimeZone", "UTC"}},
                 {{"TimeZone", "Europe/Berlin"}, {"application_name", "a"}}) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('timezone', 'Europe/Berlin', false)"));

  CHECK(sync_sql({}, {{"application_name", "app"}, {"DateStyle", "ISO, MDY"}}) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('application_name', 'app', false), "
                                   "pg_catalog.set_config('datestyle', 'ISO, MDY', false)"));

  // Values are quoted as literals: single quotes doubled.
  CHECK(sync_sql({{"application_name", "x"}}, {{"application_name", "it's"}}) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('application_name', 'it''s', false)"));
  CHECK(sync_sql({}, {{"application_name", "'; DROP TABLE t; --"}}) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('application_name', '''; DROP TABLE t; --', false)"));
  // A list setting keeps its elements: set_config parses the value like the startup packet.
  CHECK(sync_sql({}, {{"search_path", "a, b"}}) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('search_path', 'a, b', false)"));

  // Dotted custom settings are valid names.
  CHECK(sync_sql({}, {{"myapp.tenant", "7"}}) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('myapp.tenant', '7', false)"));

  // Equal options do not block the other settings and are never SET.
  CHECK(sync_sql({{"options", "-c geqo=off"}, {"application_name", "a"}},
                 {{"options", "-c geqo=off"}, {"application_name", "b"}}) ==
        std::optional<std::string>("SELECT pg_catalog.set_config('application_name', 'b', false)"));
}

TEST_CASE("sync_sql: nullopt when SET cannot do it") {
  // Different options (server-start-only flags).
  CHECK_FALSE(sync_sql({{"options", "-c geqo=off"}}, {{"options", "-c geqo=on"}}).has_value());
  CHECK_FALSE(sync_sql({}, {{"options", "-c geqo=off"}}).has_value());
  CHECK_FALSE(sync_sql({{"options", "-c geqo=off"}}, {}).has_value());
  // A server parameter the client lacks: its value would stay.
  CHECK_FALSE(sync_sql({{"TimeZone", "UTC"}}, {}).has_value());
  CHECK_FALSE(sync_sql({{"TimeZone", "UTC"}, {"application_name", "a"}}, {{"application_name", "a"}})
                  .has_value());
  // A name that cannot be spelled safely inside the double-quoted identifier.
  CHECK_FALSE(sync_sql({}, {{"bad\"name", "x"}}).has_value());
  CHECK_FALSE(sync_sql({}, {{"bad name", "x"}}).has_value());
  CHECK_FALSE(sync_sql({}, {{"a;b", "x"}}).has_value());
  CHECK_FALSE(sync_sql({}, {{"", "x"}}).has_value());
  CHECK_FALSE(sync_sql({{"x", "1"}}, {{"x", "1"}, {"bad-name", "2"}}).has_value());
}

TEST_CASE("sync_sql: an odd name that already matches needs no SET") {
  CHECK(sync_sql({{"bad name", "x"}}, {{"bad name", "x"}}) == std::optional<std::string>(""));
}

TEST_CASE("quote_literal") {
  CHECK(quote_literal("") == "''");
  CHECK(quote_literal("abc") == "'abc'");
  CHECK(quote_literal("a'b") == "'a''b'");
  CHECK(quote_literal("''") == "''''''");
  // E'' form when a backslash is present: it reads the same whatever standard_conforming_strings is.
  CHECK(quote_literal("a\\b") == "E'a\\\\b'");
  CHECK(quote_literal("\"x\"") == "'\"x\"'");
}

// ---------------------------------------------------------------------------------------------
// Transaction mode: settings maps

TEST_CASE("lower_name") {
  CHECK(lower_name("TimeZone") == "timezone");
  CHECK(lower_name("already_lower") == "already_lower");
  CHECK(lower_name("") == "");
}

TEST_CASE("parse_options: -c, -cname=value and --name=value") {
  CHECK(parse_options("") == std::optional<Settings>(Settings{}));
  CHECK(parse_options("-c geqo=off") == std::optional<Settings>(Settings{{"geqo", "off"}}));
  CHECK(parse_options("  -c\tgeqo=off   -cstatement_timeout=5s --work-mem=64MB ") ==
        std::optional<Settings>(
            Settings{{"geqo", "off"}, {"statement_timeout", "5s"}, {"work_mem", "64MB"}}));
  // Names are lower-cased; values are kept as written, including '=' after the first.
  CHECK(parse_options("-c TimeZone=Europe/Berlin -c myapp.X=a=b") ==
        std::optional<Settings>(Settings{{"timezone", "Europe/Berlin"}, {"myapp.x", "a=b"}}));
  // A backslash escapes the next character (libpq's rule for spaces in values).
  CHECK(parse_options("-c search_path=a\\ b,c -c application_name=x\\\\y") ==
        std::optional<Settings>(Settings{{"search_path", "a b,c"}, {"application_name", "x\\y"}}));
  CHECK(parse_options("-c x=") == std::optional<Settings>(Settings{{"x", ""}}));
  // The later of two settings wins.
  CHECK(parse_options("-c geqo=on -c geqo=off") == std::optional<Settings>(Settings{{"geqo", "off"}}));
}

TEST_CASE("parse_options: anything else is refused") {
  for (const char* bad : {"-c", "-c =x", "-c noequals", "-B 100", "geqo=off", "-c bad;name=1",
                          "-c bad\\ name=1", "-c geqo=off -d", "--=x"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_options(bad).has_value());
  }
}

TEST_CASE("startup_settings merges parameters and options, lower-cased") {
  const StartupParameters params = {
      {"application_name", "psql"}, {"TimeZone", "UTC"}, {"options", "-c geqo=off --Work_Mem=1MB"}};
  CHECK(startup_settings(params) ==
        Settings{{"application_name", "psql"}, {"timezone", "UTC"}, {"geqo", "off"}, {"work_mem", "1MB"}});
  // Names that cannot be settings, and options that cannot be parsed, are left out.
  CHECK(startup_settings({{"bad name", "x"}, {"options", "-X"}, {"a", "1"}}) == Settings{{"a", "1"}});
  CHECK(startup_settings({}).empty());
}

// Was a bug (fixed): PostgreSQL applies `options` first and the other startup parameters after it
// (process_startup_options), so an explicit parameter wins over the same setting in `options`
// whatever the order in the packet. startup_settings lets whichever comes later win, so a client
// sending `options` after the parameter (pgjdbc does) gets the `options` value from the proxy in
// transaction mode but the explicit value when connected directly.
TEST_CASE("startup_settings: explicit parameters win over options, as in PostgreSQL") {
  const StartupParameters options_first = {{"options", "-c TimeZone=Asia/Tokyo"}, {"TimeZone", "UTC"}};
  const StartupParameters options_last = {{"TimeZone", "UTC"}, {"options", "-c TimeZone=Asia/Tokyo"}};
  CHECK(startup_settings(options_first).at("timezone") == "UTC");
  CHECK(startup_settings(options_last).at("timezone") == "UTC");
}

TEST_CASE("is_read_only_parameter") {
  for (const char* name : {"server_version", "server_encoding", "integer_datetimes", "is_superuser",
                           "session_authorization", "in_hot_standby", "scram_iterations"})
    CHECK(is_read_only_parameter(name));
  for (const char* name : {"application_name", "timezone", "datestyle", "search_path", ""})
    CHECK_FALSE(is_read_only_parameter(name));
}

TEST_CASE("transaction_sync_sql") {
  const Settings current = {{"application_name", "old"}, {"timezone", "UTC"}, {"server_version", "15.4"}};
  SUBCASE("nothing differs") {
    CHECK(transaction_sync_sql(current, {}, {{"timezone", "UTC"}}) == "");
    CHECK(transaction_sync_sql({}, {}, {}) == "");
  }
  SUBCASE("SET for differing and missing values, in name order, values quoted") {
    CHECK(transaction_sync_sql(current, {}, {{"timezone", "UTC"}, {"application_name", "it's"}, {"geqo", "off"}}) ==
          "SELECT pg_catalog.set_config('application_name', 'it''s', false), "
          "pg_catalog.set_config('geqo', 'off', false);");
  }
  SUBCASE("RESET what an earlier client applied and this one does not want") {
    CHECK(transaction_sync_sql(current, {{"geqo", "off"}, {"work_mem", "1MB"}}, {{"work_mem", "2MB"}}) ==
          "SELECT pg_catalog.set_config('work_mem', '2MB', false);RESET geqo;");
    CHECK(transaction_sync_sql({{"geqo", "off"}}, {{"geqo", "off"}}, {{"geqo", "off"}}) == "");
  }
  SUBCASE("read-only parameters and impossible names are never SET") {
    CHECK(transaction_sync_sql(current, {}, {{"server_version", "9.6"}, {"is_superuser", "on"}}) == "");
    CHECK(transaction_sync_sql({}, {}, {{"bad name", "x"}, {"a;b", "y"}}) == "");
    CHECK(transaction_sync_sql({}, {{"bad name", "x"}}, {}) == "");
  }
}
