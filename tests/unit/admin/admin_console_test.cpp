#include "admin/admin_console.h"

#include <doctest/doctest.h>

#include <cctype>
#include <chrono>
#include <string>
#include <vector>

#include "fake_proxy_view.h"
#include "response_decoder.h"

using namespace ouroboros::admin;
using namespace ouroboros::admin::test;
using Strings = std::vector<std::string>;
using std::chrono::microseconds;

namespace {

// 2024-05-01 12:34:56 UTC
const SystemTime kConnectTime = SystemTime{} + std::chrono::seconds{1714566896};

FakeProxyView populated_view() {
  FakeProxyView view;
  PoolSnapshot app;
  app.database = "app";
  app.user = "alice";
  app.mode = "transaction";
  app.pool_size = 20;
  app.clients_active = 3;
  app.clients_waiting = 2;
  app.clients_idle = 4;
  app.servers_active = 3;
  app.servers_idle = 5;
  app.servers_login = 1;
  app.max_wait = microseconds{2'500'000};
  app.paused = false;
  app.reachable = true;
  app.transactions = 100;
  app.queries = 250;
  app.bytes_received = 4000;
  app.bytes_sent = 9000;
  app.transaction_time = microseconds{50'000};
  app.query_time = microseconds{25'000};
  app.wait_time = microseconds{1'000};
  app.server_connect_attempts = 7;
  app.server_connect_failures = 2;
  PoolSnapshot app_bob = app;
  app_bob.user = "bob";
  app_bob.transactions = 50;
  app_bob.queries = 50;
  app_bob.transaction_time = microseconds{100'000};
  PoolSnapshot reports;
  reports.database = "reports";
  reports.user = "carol";
  reports.mode = "session";
  reports.paused = true;
  reports.reachable = false;
  reports.backoff_delay = microseconds{1'500'000};
  view.pool_list = {app, app_bob, reports};

  DatabaseSnapshot db;
  db.name = "app";
  db.host = "10.0.0.5";
  db.port = 5432;
  db.dbname = "app_production";
  db.mode = "transaction";
  db.pool_size = 20;
  db.min_pool_size = 2;
  db.reserve_pool_size = 5;
  db.max_connections = 100;
  db.current_connections = 9;
  DatabaseSnapshot forced = db;
  forced.name = "reports";
  forced.user = "reporter";
  forced.paused = true;
  view.database_list = {db, forced};

  ConnectionSnapshot client;
  client.user = "alice";
  client.database = "app";
  client.state = "waiting";
  client.address = "192.168.1.10";
  client.port = 51234;
  client.connect_time = kConnectTime;
  client.request_time = kConnectTime + std::chrono::seconds{61};
  client.wait = microseconds{1'000'250};
  client.id = 26;
  client.link = 0;
  client.application_name = "psql";
  view.client_list = {client};

  ConnectionSnapshot server;
  server.user = "alice";
  server.database = "app";
  server.state = "active";
  server.address = "10.0.0.5";
  server.port = 5432;
  server.connect_time = kConnectTime;
  server.id = 40;
  server.link = 26;
  server.backend_pid = 4242;
  server.pinned = "temporary table";
  view.server_list = {server};

  view.settings = {{"listen", "0.0.0.0:6432"}, {"auth.password", "<hidden>"}};

  QueryStatsSnapshot fast{"SELECT $1", 10, 0, 10, microseconds{1'000}, microseconds{300}};
  QueryStatsSnapshot slow{"UPDATE t SET x = $1",  4, 1, 8, microseconds{9'876'543},
                          microseconds{5'000'001}};
  view.queries = {fast, slow};
  return view;
}

Response run(ProxyView& view, std::string_view sql, bool may_modify = true) {
  AdminConsole console(view, may_modify);
  Response response = decode_response(console.handle_query(sql));
  REQUIRE_MESSAGE(response.malformed.empty(), response.malformed);
  CHECK(response.ready_status == 'I');
  return response;
}

// The one result of `sql`, which must be a table.
Result table(ProxyView& view, std::string_view sql) {
  Response response = run(view, sql);
  REQUIRE(response.results.size() == 1);
  REQUIRE(response.results[0].kind == Result::Kind::Rows);
  CHECK(response.results[0].tag == "SHOW");
  return response.results[0];
}

Result only_error(ProxyView& view, std::string_view sql, bool may_modify = true) {
  Response response = run(view, sql, may_modify);
  REQUIRE(response.results.size() == 1);
  REQUIRE(response.results[0].kind == Result::Kind::Error);
  return response.results[0];
}

}  // namespace

TEST_CASE("SHOW POOLS: PgBouncer's columns, then Ouroboros's") {
  FakeProxyView view = populated_view();
  const Result pools = table(view, "SHOW POOLS");
  CHECK(pools.column_names() == Strings{"database",
                                        "user",
                                        "cl_active",
                                        "cl_waiting",
                                        "cl_active_cancel_req",
                                        "cl_waiting_cancel_req",
                                        "sv_active",
                                        "sv_active_cancel",
                                        "sv_being_canceled",
                                        "sv_idle",
                                        "sv_used",
                                        "sv_tested",
                                        "sv_login",
                                        "maxwait",
                                        "maxwait_us",
                                        "pool_mode",
                                        "cl_idle",
                                        "paused",
                                        "reachable",
                                        "backoff_delay_ms"});
  CHECK(pools.columns[0].type == 25);
  CHECK(pools.columns[2].type == 20);
  CHECK(pools.columns[17].type == 16);
  REQUIRE(pools.rows.size() == 3);
  CHECK(pools.rows[0] == Row{"app",    "alice",       "7", "2", "0", "0", "3",
                             "0",      "0",           "5", "0", "0", "1", "2",
                             "500000", "transaction", "4", "f", "t", "0"});
  CHECK(pools.cell(2, "paused") == "t");
  CHECK(pools.cell(2, "reachable") == "f");
  CHECK(pools.cell(2, "backoff_delay_ms") == "1500");
  CHECK(pools.cell(2, "pool_mode") == "session");
}

TEST_CASE("SHOW STATS: summed per database") {
  FakeProxyView view = populated_view();
  const Result stats = table(view, "SHOW STATS");
  CHECK(stats.column_names() ==
        Strings{"database", "total_xact_count", "total_query_count", "total_received", "total_sent",
                "total_xact_time", "total_query_time", "total_wait_time", "avg_xact_count",
                "avg_query_count", "avg_recv", "avg_sent", "avg_xact_time", "avg_query_time",
                "avg_wait_time", "total_server_connect_attempts", "total_server_connect_failures"});
  REQUIRE(stats.rows.size() == 2);
  // app = alice + bob: 150 transactions taking 150ms, 300 queries taking 50ms, waits 2ms.
  CHECK(stats.rows[0] == Row{"app", "150", "300", "8000", "18000", "150000", "50000", "2000", "0",
                             "0", "0", "0", "1000", "166", "13", "14", "4"});
  CHECK(stats.rows[1] == Row{"reports", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
                             "0", "0", "0", "0"});
}

TEST_CASE("SHOW STATS_TOTALS and SHOW STATS_AVERAGES") {
  FakeProxyView view = populated_view();
  const Strings columns{"database",   "xact_count", "query_count", "bytes_received",
                        "bytes_sent", "xact_time",  "query_time",  "wait_time"};
  const Result totals = table(view, "SHOW STATS_TOTALS");
  CHECK(totals.column_names() == columns);
  CHECK(totals.rows.at(0) == Row{"app", "150", "300", "8000", "18000", "150000", "50000", "2000"});
  const Result averages = table(view, "show stats_averages");
  CHECK(averages.column_names() == columns);
  CHECK(averages.rows.at(0) == Row{"app", "0", "0", "0", "0", "1000", "166", "13"});
}

TEST_CASE("SHOW DATABASES") {
  FakeProxyView view = populated_view();
  const Result dbs = table(view, "SHOW DATABASES");
  CHECK(dbs.column_names() == Strings{"name", "host", "port", "database", "force_user", "pool_size",
                                      "min_pool_size", "reserve_pool", "pool_mode",
                                      "max_connections", "current_connections", "paused",
                                      "disabled"});
  REQUIRE(dbs.rows.size() == 2);
  CHECK(dbs.rows[0] == Row{"app", "10.0.0.5", "5432", "app_production", std::nullopt, "20", "2",
                           "5", "transaction", "100", "9", "0", "0"});
  CHECK(dbs.cell(1, "force_user") == "reporter");
  CHECK(dbs.cell(1, "paused") == "1");
}

TEST_CASE("SHOW CLIENTS and SHOW SERVERS") {
  FakeProxyView view = populated_view();
  const Strings columns{"type",
                        "user",
                        "database",
                        "state",
                        "addr",
                        "port",
                        "local_addr",
                        "local_port",
                        "connect_time",
                        "request_time",
                        "wait",
                        "wait_us",
                        "close_needed",
                        "ptr",
                        "link",
                        "remote_pid",
                        "tls",
                        "application_name",
                        "id",
                        "tls_version",
                        "tls_cipher",
                        "pinned"};
  const Result clients = table(view, "SHOW CLIENTS");
  CHECK(clients.column_names() == columns);
  REQUIRE(clients.rows.size() == 1);
  CHECK(clients.rows[0] == Row{"C", "alice", "app", "waiting", "192.168.1.10", "51234",
                               std::nullopt, std::nullopt, "2024-05-01 12:34:56 UTC",
                               "2024-05-01 12:35:57 UTC", "1", "250", "0", "0x1a", std::nullopt,
                               "0", "", "psql", "26", std::nullopt, std::nullopt, ""});

  const Result servers = table(view, "SHOW SERVERS");
  CHECK(servers.column_names() == columns);
  REQUIRE(servers.rows.size() == 1);
  CHECK(servers.cell(0, "type") == "S");
  CHECK(servers.cell(0, "ptr") == "0x28");
  CHECK(servers.cell(0, "link") == "0x1a");  // the client's ptr
  CHECK(servers.cell(0, "remote_pid") == "4242");
  CHECK(servers.cell(0, "request_time") == std::nullopt);  // never set
  CHECK(servers.cell(0, "pinned") == "temporary table");  // its client's reason
}

TEST_CASE("SHOW CONFIG, SHOW VERSION") {
  FakeProxyView view = populated_view();
  const Result config = table(view, "SHOW CONFIG");
  CHECK(config.column_names() == Strings{"key", "value", "default", "changeable"});
  REQUIRE(config.rows.size() == 2);
  CHECK(config.rows[1] == Row{"auth.password", "<hidden>", std::nullopt, std::nullopt});

  const Result version = table(view, "SHOW VERSION");
  CHECK(version.column_names() == Strings{"version"});
  CHECK(version.rows == std::vector<Row>{Row{"Ouroboros 0.1.0"}});
}

TEST_CASE("SHOW QUERIES: longest total time first") {
  FakeProxyView view = populated_view();
  const Result queries = table(view, "SHOW QUERIES");
  CHECK(queries.column_names() == Strings{"fingerprint", "calls", "errors", "rows", "total_time_ms",
                                          "mean_time_ms", "max_time_ms"});
  CHECK(queries.columns[4].type == 1700);
  REQUIRE(queries.rows.size() == 2);
  CHECK(queries.rows[0] ==
        Row{"UPDATE t SET x = $1", "4", "1", "8", "9876.543", "2469.135", "5000.001"});
  CHECK(queries.rows[1] == Row{"SELECT $1", "10", "0", "10", "1.000", "0.100", "0.300"});
}

TEST_CASE("SHOW on an empty proxy: columns, no rows") {
  FakeProxyView view;
  for (const char* sql : {"SHOW POOLS", "SHOW STATS", "SHOW CLIENTS", "SHOW SERVERS",
                          "SHOW DATABASES", "SHOW CONFIG", "SHOW QUERIES"}) {
    CAPTURE(sql);
    const Result result = table(view, sql);
    CHECK_FALSE(result.columns.empty());
    CHECK(result.rows.empty());
  }
}

TEST_CASE("SHOW HELP: a notice listing every command") {
  FakeProxyView view;
  const Response response = run(view, "SHOW HELP");
  REQUIRE(response.results.size() == 1);
  CHECK(response.results[0].kind == Result::Kind::Command);
  CHECK(response.results[0].tag == "SHOW");
  REQUIRE(response.results[0].notices.size() == 1);
  const std::string& help = response.results[0].notices[0];
  for (const AdminCommandInfo& info : admin_commands()) {
    CAPTURE(info.name);
    CHECK(help.find(info.name) != std::string::npos);
  }
}

TEST_CASE("commands reach the proxy and answer with their tag") {
  FakeProxyView view;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"PAUSE", "pause "},         {"PAUSE app", "pause app"},
      {"RESUME", "resume "},       {"resume \"My DB\"", "resume My DB"},
      {"RECONNECT", "reconnect "}, {"RECONNECT app", "reconnect app"},
      {"KILL app", "kill app"},    {"RELOAD", "reload"},
      {"SHUTDOWN", "shutdown"},
  };
  for (const auto& test_case : cases) {
    const std::string& sql = test_case.first;
    const std::string& call = test_case.second;
    CAPTURE(sql);
    view.commands.clear();
    const Response response = run(view, sql);
    REQUIRE(response.results.size() == 1);
    CHECK(response.results[0].kind == Result::Kind::Command);
    std::string keyword = sql.substr(0, sql.find(' '));
    for (char& c : keyword) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(response.results[0].tag == keyword);
    CHECK(view.commands == Strings{call});
  }
}

TEST_CASE("a proxy error becomes 55000 and stops the rest of the query") {
  FakeProxyView view;
  view.command_error = "database \"nope\" is not configured";
  const Response response = run(view, "PAUSE nope; RESUME nope");
  REQUIRE(response.results.size() == 1);
  CHECK(response.results[0].kind == Result::Kind::Error);
  CHECK(response.results[0].sqlstate == "55000");
  CHECK(response.results[0].message == "database \"nope\" is not configured");
  CHECK(view.commands == Strings{"pause nope"});
}

TEST_CASE("read-only users may SHOW but not change anything") {
  FakeProxyView view = populated_view();
  AdminConsole console(view, false);
  CHECK(decode_response(console.handle_query("SHOW POOLS")).results.at(0).kind ==
        Result::Kind::Rows);
  for (const char* sql : {"PAUSE", "PAUSE app", "RESUME", "RECONNECT app", "KILL app", "RELOAD",
                          "SHUTDOWN", "show pools; reload"}) {
    CAPTURE(sql);
    const Result error = only_error(view, sql, false);
    CHECK(error.sqlstate == "42501");
    CHECK(error.message.find("permission denied: ") == 0);
    CHECK(error.message.find("needs an admin user (stats_users are read-only)") !=
          std::string::npos);
  }
  CHECK(only_error(view, "kill app", false).message ==
        "permission denied: KILL needs an admin user (stats_users are read-only)");
  CHECK(view.commands.empty());
}

TEST_CASE("unknown commands: 42601 naming the command, hint to SHOW HELP") {
  FakeProxyView view;
  const Result unknown = only_error(view, "SELECT 1");
  CHECK(unknown.sqlstate == "42601");
  CHECK(unknown.message == "syntax error: unknown command \"SELECT\"");
  CHECK(unknown.hint == "SHOW HELP lists the commands.");
  CHECK(only_error(view, "SHOW LISTS").message == "syntax error: unknown SHOW item \"LISTS\"");
  CHECK(only_error(view, "SHOW").message == "syntax error: SHOW needs an item, such as SHOW POOLS");
  CHECK(only_error(view, "KILL").message == "syntax error: KILL needs a database name");
  CHECK(only_error(view, "SHOW POOLS now").message ==
        "syntax error: unexpected \"now\" after SHOW POOLS");
  CHECK(only_error(view, "'SHOW POOLS'").message ==
        "syntax error: syntax error at or near \"'SHOW POOLS'\"");
}

TEST_CASE("case, whitespace, comments and semicolons do not matter") {
  FakeProxyView view = populated_view();
  for (const char* sql : {"show pools", "Show Pools;", "  SHOW\n\tPOOLS  ;  ",
                          "/* monitoring */ SHOW -- the pools\n POOLS;;", "sHoW pOoLs ; ;"}) {
    CAPTURE(sql);
    CHECK(table(view, sql).rows.size() == 3);
  }
  view.commands.clear();
  run(view, "pause /* just this one */ app ;");
  CHECK(view.commands == Strings{"pause app"});
}

TEST_CASE("several statements: results in order, one ReadyForQuery") {
  FakeProxyView view = populated_view();
  const Response response = run(view, "SHOW POOLS; SHOW STATS; PAUSE app; SHOW VERSION");
  REQUIRE(response.results.size() == 4);
  CHECK(response.results[0].column_names().at(2) == "cl_active");
  CHECK(response.results[1].column_names().at(1) == "total_xact_count");
  CHECK(response.results[2].tag == "PAUSE");
  CHECK(response.results[3].rows.at(0).at(0) == "Ouroboros 0.1.0");
}

TEST_CASE("several statements: a syntax error anywhere runs none of them") {
  FakeProxyView view;
  const Response response = run(view, "PAUSE app; RESUM app");
  REQUIRE(response.results.size() == 1);
  CHECK(response.results[0].sqlstate == "42601");
  CHECK(view.commands.empty());
}

TEST_CASE("too many statements in one query are refused before any runs") {
  FakeProxyView view;
  std::string sql;
  for (std::size_t i = 0; i <= AdminConsole::kMaxStatementsPerQuery; ++i) sql += "PAUSE;";
  CHECK(only_error(view, sql).sqlstate == "54000");
  CHECK(view.commands.empty());
  sql.erase(0, 6);
  CHECK(run(view, sql).results.size() == AdminConsole::kMaxStatementsPerQuery);
}

TEST_CASE("empty queries answer EmptyQueryResponse") {
  FakeProxyView view;
  for (const char* sql : {"", "   ", ";", " ; ;; ", "-- nothing", "/* nothing */;"}) {
    CAPTURE(sql);
    const Response response = run(view, sql);
    REQUIRE(response.results.size() == 1);
    CHECK(response.results[0].kind == Result::Kind::EmptyQuery);
  }
}

TEST_CASE("error_response and simple_query_only_response end with ReadyForQuery") {
  Response response = decode_response(error_response("08P01", "bad\0thing"));
  REQUIRE(response.malformed.empty());
  REQUIRE(response.results.size() == 1);
  CHECK(response.results[0].sqlstate == "08P01");
  CHECK(response.ready_status == 'I');

  const std::string with_nul("bad\0thing", 9);
  response = decode_response(error_response("XX000", with_nul));
  REQUIRE(response.malformed.empty());
  CHECK(response.results.at(0).message == "bad?thing");

  response = decode_response(simple_query_only_response());
  REQUIRE(response.malformed.empty());
  CHECK(response.results.at(0).sqlstate == "0A000");
  CHECK(response.results.at(0).message ==
        "the admin console supports the simple query protocol only");
}
