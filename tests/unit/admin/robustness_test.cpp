// Odd input never crashes the console and always yields a well-formed response ending in
// ReadyForQuery('I').
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "admin/admin_console.h"
#include "fake_proxy_view.h"
#include "response_decoder.h"

using namespace ouroboros::admin;
using namespace ouroboros::admin::test;

namespace {

FakeProxyView some_view() {
  FakeProxyView view;
  PoolSnapshot pool;
  pool.database = "app";
  pool.user = "u";
  pool.mode = "transaction";
  view.pool_list = {pool};
  ConnectionSnapshot connection;
  connection.application_name = std::string("odd\0name\xff", 9);  // cells are length-prefixed
  view.client_list = {connection};
  view.queries = {QueryStatsSnapshot{"SELECT $1", 0, 0, 0, {}, {}}};  // no calls: mean 0
  return view;
}

void check_well_formed(AdminConsole& console, const std::string& sql) {
  const Response response = decode_response(console.handle_query(sql));
  CAPTURE(sql);
  REQUIRE_MESSAGE(response.malformed.empty(), response.malformed);
  CHECK(response.ready_status == 'I');
  CHECK_FALSE(response.results.empty());
}

}  // namespace

TEST_CASE("odd inputs") {
  FakeProxyView view = some_view();
  AdminConsole console(view, true);
  const std::string cases[] = {
      std::string("\0", 1),
      std::string("SHOW\0POOLS", 10),
      std::string("PAUSE \"a\0b\"", 11),
      "'unterminated",
      "\"unterminated",
      "SHOW POOLS '",
      "/* unterminated comment",
      "$$ dollar",
      "PAUSE $1",
      "PAUSE (",
      ")))",
      "SHOW POOLS; ' ; SHOW STATS",
      "\xff\xfe\xfd",
      "SHOW \xc3\xa9",
      "PAUSE -",
      "KILL \"\"",
      "SHOW CLIENTS",
      "SHOW QUERIES",
      std::string(1 << 20, 'A'),
      "PAUSE " + std::string(1 << 20, 'b'),
      std::string(1 << 16, ';'),
      std::string(1 << 16, '('),
      "SHOW POOLS" + std::string(1 << 16, ' '),
  };
  for (const std::string& sql : cases) check_well_formed(console, sql);
}

TEST_CASE("random bytes and random token soups (fixed seed)") {
  FakeProxyView view = some_view();
  AdminConsole admin(view, true);
  AdminConsole read_only(view, false);
  std::mt19937 random(20240501);
  const char* pieces[] = {"SHOW", "pools", "STATS", "pause", "KILL", "RELOAD", "app", "\"",
                          "'",    ";",     " ",     "--",    "/*",   "*/",     "$$",  "\n",
                          "(",    ")",     "-",     ".",     "\\",   "e'",     "\0",  "\xc3"};
  for (int round = 0; round < 3000; ++round) {
    std::string sql;
    const int length = static_cast<int>(random() % 40);
    if (round % 2 == 0) {
      for (int i = 0; i < length; ++i) sql.push_back(static_cast<char>(random() % 256));
    } else {
      for (int i = 0; i < length; ++i) {
        const char* piece = pieces[random() % std::size(pieces)];
        sql += piece[0] == '\0' ? std::string(1, '\0') : std::string(piece);
      }
    }
    check_well_formed(round % 3 == 0 ? read_only : admin, sql);
  }
}
