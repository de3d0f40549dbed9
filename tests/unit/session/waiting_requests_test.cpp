// Requests waiting for a server, answered without running (a cancel; a statement that could not
// be made again), driven by scripted client input: no sockets, no server.
#include "session/waiting_requests.h"

#include "sim.h"

using namespace ouroboros;
using namespace ouroboros::session;
using namespace ouroboros::session::test;

namespace {

constexpr std::size_t kMax = 1 << 20;

protocol::ErrorSpec cancelled() {
  protocol::ErrorSpec e;
  e.sqlstate = "57014";
  e.message = "canceling statement due to user request";
  return e;
}

// "E Z" etc. with each error's SQLSTATE: "57014 Z".
std::string rendered(const Bytes& out) {
  std::string text;
  for (const Msg& m : split(out)) {
    if (!text.empty()) text += ' ';
    text += m.type == 'E' ? *sqlstate_of(m) : std::string(1, m.type);
  }
  return text;
}

Bytes terminate_msg() {
  Bytes out;
  protocol::MessageWriter(out, 'X').finish();
  return out;
}

}  // namespace

TEST_CASE("waiting requests: a cancel answers every whole request as PostgreSQL fails them") {
  const Bytes input = cat({query("SELECT pg_sleep(10)"), parse("", "SELECT 1"), bind(""), execute(), sync_msg(),
                           sync_msg(), query("SELECT 2")});
  auto answers = answer_waiting_requests(input, cancelled(), WaitingScope::AllRequests, kMax);
  REQUIRE(answers);
  CHECK(answers->used == input.size());
  CHECK(rendered(answers->out) == "57014 Z 57014 Z Z 57014 Z");
  CHECK_FALSE(answers->terminate);
}

TEST_CASE("waiting requests: nothing is answered while a request has not fully arrived") {
  const Bytes whole = cat({query("SELECT 1"), query("SELECT 2")});
  const Bytes cut(whole.begin(), whole.end() - 3);
  CHECK_FALSE(answer_waiting_requests(cut, cancelled(), WaitingScope::AllRequests, kMax));
  const Bytes unsynced = cat({parse("", "SELECT 1"), bind(""), execute()});
  CHECK_FALSE(answer_waiting_requests(unsynced, cancelled(), WaitingScope::AllRequests, kMax));
  CHECK_FALSE(answer_waiting_requests({}, cancelled(), WaitingScope::AllRequests, kMax));
}

TEST_CASE("waiting requests: a Query inside a failed batch is skipped with it; COPY data is ignored") {
  Bytes copy_data;
  protocol::MessageWriter(copy_data, 'd').bytes(as_bytes(std::string_view("1\n"))).finish();
  const Bytes input = cat({parse("", "SELECT 1"), query("SELECT 2"), sync_msg(), copy_data});
  auto answers = answer_waiting_requests(input, cancelled(), WaitingScope::AllRequests, kMax);
  REQUIRE(answers);
  CHECK(rendered(answers->out) == "57014 Z");
  CHECK(answers->used == input.size());
}

TEST_CASE("waiting requests: a Terminate after the requests is reported; inside a batch nothing is answered") {
  const Bytes input = cat({query("SELECT 1"), terminate_msg(), query("never read")});
  auto answers = answer_waiting_requests(input, cancelled(), WaitingScope::AllRequests, kMax);
  REQUIRE(answers);
  CHECK(answers->terminate);
  CHECK(answers->used == input.size() - query("never read").size());
  CHECK(rendered(answers->out) == "57014 Z");
  CHECK_FALSE(answer_waiting_requests(cat({parse("", "SELECT 1"), terminate_msg()}), cancelled(),
                                      WaitingScope::AllRequests, kMax));
}

TEST_CASE("waiting requests: the first request alone, the rest left in the input") {
  protocol::ErrorSpec gone;
  gone.sqlstate = "42P01";
  gone.message = "relation \"t\" does not exist";
  const Bytes first = cat({parse("", "EXECUTE s"), bind(""), execute(), sync_msg()});
  const Bytes input = cat({first, query("SELECT 2")});
  auto answers = answer_waiting_requests(input, gone, WaitingScope::FirstRequest, kMax);
  REQUIRE(answers);
  CHECK(answers->used == first.size());
  CHECK(rendered(answers->out) == "42P01 Z");
  CHECK_FALSE(answer_waiting_requests(cat({terminate_msg(), query("SELECT 1")}), gone, WaitingScope::FirstRequest, kMax));
}

TEST_CASE("waiting requests: a message over the size limit is not a whole request") {
  const Bytes big = query(std::string(2000, 'x'));
  CHECK_FALSE(answer_waiting_requests(big, cancelled(), WaitingScope::AllRequests, 1000));
}
