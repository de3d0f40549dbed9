// The answers a client gets after its server was lost under an open transaction or a pin,
// driven by scripted client messages: no sockets, no server.
#include "session/lost_server_answers.h"

#include "sim.h"

using namespace ouroboros;
using namespace ouroboros::session;
using namespace ouroboros::session::test;

namespace {

// Feeds `messages` (a stream of whole client messages); "types;sqlstates" of the answers, e.g.
// "E Z;08006" (types as types() spells them, then each ErrorResponse's SQLSTATE).
std::string answer(LostServerAnswers& lost, const Bytes& messages, bool* stayed = nullptr) {
  Bytes out;
  bool staying = true;
  for (const Msg& m : split(messages)) {
    REQUIRE(lost.active());
    staying = lost.on_client_message(m.type, m.body, out);
    if (!staying) break;
  }
  if (stayed) *stayed = staying;
  std::string states;
  for (const Msg& m : split(out)) {
    if (auto state = sqlstate_of(m)) states += (states.empty() ? "" : " ") + *state;
  }
  return types(out) + ";" + states;
}

std::string ready_status(const Bytes& out) {
  std::string statuses;
  for (const Msg& m : split(out))
    if (m.type == 'Z') statuses += static_cast<char>(m.body.at(0));
  return statuses;
}

}  // namespace

TEST_CASE("lost transaction: the first request hears why, the next ones 25P02, ROLLBACK ends it") {
  LostServerAnswers lost;
  CHECK_FALSE(lost.active());
  lost.transaction_lost("server closed the connection", {}, false);
  CHECK(lost.active());
  CHECK(answer(lost, query("SELECT 1")) == "E Z;08006");
  CHECK(answer(lost, query("INSERT INTO t VALUES (1)")) == "E Z;25P02");
  CHECK(lost.active());
  CHECK(answer(lost, query("ROLLBACK")) == "C Z;");
  CHECK_FALSE(lost.active());
}

TEST_CASE("lost transaction: COMMIT is answered ROLLBACK, as PostgreSQL does in a failed block") {
  LostServerAnswers lost;
  lost.transaction_lost("gone", {}, true);  // the request in flight was told already
  Bytes out;
  CHECK(lost.on_client_message('Q', split(query("commit")).at(0).body, out));
  CHECK(render(out) == "[CROLLBACK|] [ZI] ");
  CHECK_FALSE(lost.active());
}

TEST_CASE("lost transaction: the request in flight was told, so the next one gets 25P02 at once") {
  LostServerAnswers lost;
  lost.transaction_lost("gone", {}, true);
  CHECK(answer(lost, query("SELECT 1")) == "E Z;25P02");
  Bytes out;
  lost.on_client_message('Q', split(query("SELECT 1")).at(0).body, out);
  CHECK(ready_status(out) == "E");  // still in the failed block
}

TEST_CASE("lost transaction: PostgreSQL's own reason is told before the proxy's") {
  LostServerAnswers lost;
  Bytes said;
  protocol::ErrorSpec e;
  e.sqlstate = "57P01";
  e.message = "terminating connection due to administrator command";
  protocol::encode_error_response(said, e);
  lost.transaction_lost("server closed the connection", said, false);
  CHECK(answer(lost, query("SELECT 1")) == "E Z;57P01");
  CHECK(answer(lost, query("SELECT 1")) == "E Z;25P02");
}

TEST_CASE("lost transaction: an extended batch fails once at its Sync; an empty batch does not") {
  LostServerAnswers lost;
  lost.transaction_lost("gone", {}, false);
  CHECK(answer(lost, cat({parse("", "SELECT 1"), bind(""), execute(), sync_msg()})) == "E Z;08006");
  CHECK(answer(lost, sync_msg()) == "Z;");
  CHECK(answer(lost, cat({parse("", "SELECT 1"), sync_msg()})) == "E Z;25P02");
  CHECK(lost.active());
}

TEST_CASE("lost transaction: an extended ROLLBACK batch succeeds message by message") {
  LostServerAnswers lost;
  lost.transaction_lost("gone", {}, false);
  Bytes out;
  for (const Msg& m : split(cat({parse("", "ROLLBACK"), bind(""), describe('P', ""), execute(), sync_msg()})))
    CHECK(lost.on_client_message(m.type, m.body, out));
  CHECK(render(out) == "[1] [2] [n] [CROLLBACK|] [ZI] ");
  CHECK_FALSE(lost.active());
}

TEST_CASE("lost transaction: COPY data of a COPY the server never started is dropped") {
  LostServerAnswers lost;
  lost.transaction_lost("gone", {}, true);
  Bytes copy_data;
  protocol::MessageWriter(copy_data, 'd').bytes(as_bytes(std::string_view("1\n"))).finish();
  Bytes copy_done;
  protocol::MessageWriter(copy_done, 'c').finish();
  CHECK(answer(lost, cat({copy_data, copy_done})) == ";");
  CHECK(lost.active());
}

TEST_CASE("lost transaction: a function call is answered like a failed Query") {
  LostServerAnswers lost;
  lost.transaction_lost("gone", {}, true);
  Bytes call;
  protocol::MessageWriter(call, 'F').int32(1234).int16(0).int16(0).int16(0).finish();
  CHECK(answer(lost, call) == "E Z;25P02");
}

TEST_CASE("lost transaction: Terminate says the client leaves") {
  LostServerAnswers lost;
  lost.transaction_lost("gone", {}, false);
  Bytes terminate;
  protocol::MessageWriter(terminate, 'X').finish();
  bool stayed = true;
  CHECK(answer(lost, cat({query("SELECT 1"), terminate}), &stayed) == "E Z;08006");
  CHECK_FALSE(stayed);
}

TEST_CASE("lost pin: the next Query fails with the detail, then the session goes on") {
  LostServerAnswers lost;
  lost.pin_lost("lost with it: temporary table t (server closed the connection)");
  Bytes out;
  CHECK(lost.on_client_message('Q', split(query("SELECT * FROM t")).at(0).body, out));
  const std::vector<Msg> answers = split(out);
  REQUIRE(answers.size() == 2);
  CHECK(sqlstate_of(answers[0]) == "08006");
  auto fields = protocol::decode_error_fields(answers[0].body);
  REQUIRE(fields);
  CHECK(fields->detail() == "lost with it: temporary table t (server closed the connection)");
  CHECK(ready_status(out) == "I");
  CHECK_FALSE(lost.active());
}

TEST_CASE("lost pin: an extended batch fails at its first message and is skipped to its Sync") {
  LostServerAnswers lost;
  lost.pin_lost("lost with it: the session state (gone)");
  CHECK(answer(lost, cat({parse("", "SELECT 1"), bind(""), execute()})) == "E;08006");
  CHECK(lost.active());
  CHECK(answer(lost, sync_msg()) == "Z;");
  CHECK_FALSE(lost.active());
}

TEST_CASE("lost pin: a lone Sync fails too (the batch had no other message)") {
  LostServerAnswers lost;
  lost.pin_lost("d");
  CHECK(answer(lost, sync_msg()) == "E Z;08006");
  CHECK_FALSE(lost.active());
}
