#include "session/client_session_state.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using namespace ouroboros;
using namespace ouroboros::session;

namespace {

sql::SessionStatementClassifier& classifier() {
  static sql::SessionStatementClassifier c;
  return c;
}

// A simple Query as the proxy reports it once the client has a state: classified (transaction
// control from its first words, without the parser).
void send_query(ClientSessionState& s, std::string_view text) { s.query(classifier().classify(text)); }

void send_parse(ClientSessionState& s, std::string_view name, std::string_view text) {
  sql::Classification c = classifier().classify(text);
  s.parse(name, &c);
}

ClientSessionState fresh(pool::Settings startup = {}) {
  return ClientSessionState(std::move(startup), {});
}

}  // namespace

TEST_CASE("a SET that completes sticks; one after an error in the same query never ran") {
  auto s = fresh();
  send_query(s, "SET work_mem = '1MB'");
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == "1MB");
  CHECK(s.take_changed());
  CHECK_FALSE(s.take_changed());

  send_query(s, "SELECT 1/0; SET work_mem = '2MB'");
  s.statement_failed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == "1MB");
  CHECK_FALSE(s.take_changed());
}

TEST_CASE("a SET followed by a failing statement in one query is rolled back with it") {
  auto s = fresh();
  send_query(s, "SET work_mem = '3MB'; SELECT 1/0");
  s.statement_completed();
  s.statement_failed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == std::nullopt);
}

TEST_CASE("replies line up with pipelined plain and tracked requests") {
  auto s = fresh();
  s.plain_request();  // SELECT 1
  send_query(s, "SET search_path = a");
  s.plain_request();  // SELECT 2
  send_query(s, "SET search_path = b");
  // SELECT 1: its CommandComplete must not be taken for the SET's.
  s.statement_failed();
  s.ready_for_query('I');
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("search_path") == "a");
  s.statement_completed();
  s.ready_for_query('I');
  s.statement_failed();
  s.ready_for_query('I');
  CHECK(s.settings().value("search_path") == "a");
}

TEST_CASE("made in the middle of a pipeline, the state skips the replies of earlier requests") {
  ClientSessionState s({}, {2, 0});
  send_query(s, "SET work_mem = '5MB'");
  s.statement_failed();  // the first earlier request's error
  s.ready_for_query('I');
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == std::nullopt);
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == "5MB");
}

TEST_CASE("extended protocol: the bound statement's effects apply at its CommandComplete") {
  auto s = fresh();
  send_parse(s, "", "SELECT $1::int");
  s.bind("", "");
  s.execute("");
  send_parse(s, "set_tz", "SET TimeZone = 'UTC'");
  s.bind("p", "set_tz");
  s.execute("p");
  s.sync();
  s.statement_completed();  // SELECT
  CHECK(s.settings().value("timezone") == std::nullopt);
  s.statement_completed();  // SET
  s.ready_for_query('I');
  CHECK(s.settings().value("timezone") == "UTC");

  // The named statement runs again in a later batch.
  send_query(s, "RESET TimeZone");
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("timezone") == std::nullopt);
  CHECK(s.take_resets() == std::vector<std::string>{"timezone"});
  s.bind("", "set_tz");
  s.execute("");
  s.sync();
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("timezone") == "UTC");
}

TEST_CASE("extended protocol: an error skips the rest of the batch and rolls it back") {
  auto s = fresh();
  send_parse(s, "a", "SET work_mem = '7MB'");
  s.bind("", "a");
  s.execute("");
  send_parse(s, "", "SELECT 1/0");
  s.bind("", "");
  s.execute("");
  send_parse(s, "b", "SET search_path = x");
  s.bind("", "b");
  s.execute("");
  s.sync();
  s.statement_completed();
  s.statement_failed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == std::nullopt);
  CHECK(s.settings().value("search_path") == std::nullopt);
}

TEST_CASE("transaction blocks: ROLLBACK undoes a SET, COMMIT keeps it, SET LOCAL ends") {
  auto s = fresh();
  send_query(s, "BEGIN");
  s.statement_completed();
  s.ready_for_query('T');
  send_query(s, "SET work_mem = '9MB'");
  s.statement_completed();
  s.ready_for_query('T');
  send_query(s, "ROLLBACK");
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == std::nullopt);

  send_query(s, "BEGIN; SET work_mem = '10MB'; SET LOCAL search_path = y");
  s.statement_completed();
  s.statement_completed();
  s.statement_completed();
  s.ready_for_query('T');
  CHECK(s.settings().value("search_path") == "y");
  send_query(s, "COMMIT");
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("work_mem") == "10MB");
  CHECK(s.settings().value("search_path") == std::nullopt);
}

TEST_CASE("pinning state follows the statements; a lost server takes it away") {
  auto s = fresh();
  send_query(s, "CREATE TEMP TABLE t (x int)");
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.tracker().pin_reason() == PinReason::TemporaryObject);
  send_query(s, "LISTEN ch");
  s.statement_completed();
  s.ready_for_query('I');
  send_query(s, "BEGIN; SET work_mem = '11MB'");
  s.statement_completed();
  s.statement_completed();
  s.ready_for_query('T');
  s.server_lost();
  CHECK_FALSE(s.tracker().pinned());
  CHECK(s.tracker().listen_channels().count("ch") == 1);
  CHECK(s.settings().value("work_mem") == std::nullopt);  // its transaction is gone
}

TEST_CASE("RESET ALL and DISCARD ALL are reported for the server to be brought in line") {
  auto s = fresh({{"search_path", "app"}});
  send_query(s, "SET search_path = other");
  s.statement_completed();
  s.ready_for_query('I');
  send_query(s, "RESET ALL");
  s.statement_completed();
  s.ready_for_query('I');
  CHECK(s.settings().value("search_path") == "app");
  CHECK(s.take_resets() == std::vector<std::string>{"*"});
  CHECK(s.take_resets().empty());
}
