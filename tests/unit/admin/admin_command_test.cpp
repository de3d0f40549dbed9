#include "admin/admin_command.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace ouroboros::admin;
using K = AdminCommandKind;

namespace {
AdminCommand parsed(std::string_view sql) {
  const ParsedCommand result = parse_admin_command(sql);
  INFO(result.error);
  REQUIRE(result.command.has_value());
  return *result.command;
}
std::string error_of(std::string_view sql) {
  const ParsedCommand result = parse_admin_command(sql);
  CHECK_FALSE(result.command.has_value());
  return result.error;
}
}  // namespace

TEST_CASE("every command kind has exactly one row in the command table") {
  std::set<K> kinds;
  for (const AdminCommandInfo& info : admin_commands()) {
    CHECK(kinds.insert(info.kind).second);
    CHECK(command_info(info.kind).name == info.name);
  }
  CHECK(kinds.size() == static_cast<std::size_t>(K::Shutdown) + 1);
}

TEST_CASE("SHOW items") {
  CHECK(parsed("SHOW POOLS").kind == K::ShowPools);
  CHECK(parsed("show clients").kind == K::ShowClients);
  CHECK(parsed("SHOW servers;").kind == K::ShowServers);
  CHECK(parsed("SHOW STATS").kind == K::ShowStats);
  CHECK(parsed("SHOW Stats_Totals").kind == K::ShowStatsTotals);
  CHECK(parsed("SHOW STATS_AVERAGES").kind == K::ShowStatsAverages);
  CHECK(parsed("SHOW DATABASES").kind == K::ShowDatabases);
  CHECK(parsed("SHOW CONFIG").kind == K::ShowConfig);
  CHECK(parsed("SHOW VERSION").kind == K::ShowVersion);
  CHECK(parsed("SHOW QUERIES").kind == K::ShowQueries);
  CHECK(parsed("SHOW HELP").kind == K::ShowHelp);
}

TEST_CASE("database arguments") {
  CHECK(parsed("PAUSE") == AdminCommand{K::Pause, ""});
  CHECK(parsed("PAUSE app") == AdminCommand{K::Pause, "app"});
  CHECK(parsed("pause App;") == AdminCommand{K::Pause, "App"});  // verbatim, not folded
  CHECK(parsed("RESUME my-db") == AdminCommand{K::Resume, "my-db"});
  CHECK(parsed("RESUME shard.1") == AdminCommand{K::Resume, "shard.1"});
  CHECK(parsed("RECONNECT \"My \"\"big\"\" DB\"") == AdminCommand{K::Reconnect, "My \"big\" DB"});
  CHECK(parsed("KILL 42") == AdminCommand{K::Kill, "42"});
  CHECK(parsed("KILL app /* now */ ;") == AdminCommand{K::Kill, "app"});
  CHECK(parsed("RELOAD") == AdminCommand{K::Reload, ""});
  CHECK(parsed("SHUTDOWN;") == AdminCommand{K::Shutdown, ""});
}

TEST_CASE("syntax errors say what is wrong") {
  CHECK(error_of("") == "empty statement");
  CHECK(error_of(";") == "empty statement");
  CHECK(error_of("FOO") == "unknown command \"FOO\"");
  CHECK(error_of("SHOW") == "SHOW needs an item, such as SHOW POOLS");
  CHECK(error_of("SHOW \"POOLS\"") == "unknown SHOW item \"\"POOLS\"\"");
  CHECK(error_of("KILL") == "KILL needs a database name");
  CHECK(error_of("KILL;") == "KILL needs a database name");
  CHECK(error_of("PAUSE a b") == "unexpected \"b\" after PAUSE");
  CHECK(error_of("RELOAD now") == "unexpected \"now\" after RELOAD");
  CHECK(error_of("PAUSE 'app'") == "PAUSE: expected a database name, found \"'app'\"");
  CHECK(error_of("PAUSE \"app") == "PAUSE: unterminated quoted database name");
  CHECK(error_of("PAUSE \"\"") == "PAUSE: the database name is empty");
  CHECK(error_of("PAUSE \"a\tb\"") == "PAUSE: the database name contains a control character");
  CHECK(error_of("PAUSE " + std::string(256, 'x')) ==
        "PAUSE: the database name is longer than 255 bytes");
  CHECK(error_of("SHOW POOLS; SHOW STATS").find("unexpected") == 0);  // one statement only
}

TEST_CASE("user text echoed in errors is bounded and printable") {
  const std::string error = error_of(std::string(10'000, 'x'));
  CHECK(error.size() < 100);
  CHECK(error.find("...") != std::string::npos);
  CHECK(error_of("\"a\x01\"") == "syntax error at or near \"\"a?\"\"");
}
