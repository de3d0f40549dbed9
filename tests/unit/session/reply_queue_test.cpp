#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "protocol/messages.h"
#include "session/reply_queue.h"
#include "sim.h"

using namespace ouroboros;
using namespace ouroboros::session;
using namespace ouroboros::session::test;
using Kind = Expectation::Kind;
using Fate = Expectation::Fate;
using Answer = Expectation::Answer;

namespace {

Expectation fwd(Kind kind, std::uint64_t id = 0) {
  Expectation e = expectation(kind);
  e.statement_id = id;
  return e;
}
Expectation hide(Kind kind, std::uint64_t id = 0) {
  Expectation e = fwd(kind, id);
  e.fate = Fate::Hide;
  return e;
}
Expectation answered(Kind kind, Answer answer, char status = 'I') {
  Expectation e = expectation(kind);
  e.fate = Fate::Answered;
  e.answer = answer;
  e.status = status;
  return e;
}

Bytes error_body(std::string_view sqlstate, std::string_view message) {
  Bytes out;
  protocol::ErrorSpec e;
  e.sqlstate = sqlstate;
  e.message = message;
  protocol::encode_error_response(out, e);
  return Bytes(out.begin() + 5, out.end());
}

Route on(ReplyQueue& q, char type) { return q.on_server_message(type, {}); }
Route on_error(ReplyQueue& q, std::string_view sqlstate = "22012", std::string_view message = "division by zero") {
  Bytes body = error_body(sqlstate, message);
  return q.on_server_message('E', body);
}

void expect(ReplyQueue& q, Expectation e) {
  Bytes to_client;
  q.expect(e, to_client);
  CHECK(to_client.empty());
}

}  // namespace

TEST_CASE("reply queue: each kind is ended by its own reply") {
  struct Case {
    Kind kind;
    std::vector<char> part;  // replies that belong to it without ending it
    char end;
  };
  const std::vector<Case> cases = {
      {Kind::Parse, {}, '1'},
      {Kind::Bind, {}, '2'},
      {Kind::Close, {}, '3'},
      {Kind::DescribeStatement, {'t'}, 'T'},
      {Kind::DescribeStatement, {'t'}, 'n'},
      {Kind::DescribePortal, {}, 'T'},
      {Kind::DescribePortal, {}, 'n'},
      {Kind::Execute, {'D', 'D'}, 'C'},
      {Kind::Execute, {}, 'I'},
      {Kind::Execute, {'D'}, 's'},
      {Kind::Sync, {}, 'Z'},
      {Kind::Query, {'T', 'D', 'C', 'T', 'C'}, 'Z'},
      {Kind::Query, {'I'}, 'Z'},
      {Kind::FunctionCall, {'V'}, 'Z'},
  };
  for (const Case& c : cases) {
    CAPTURE(static_cast<int>(c.kind));
    CAPTURE(c.end);
    for (Fate fate : {Fate::Forward, Fate::Hide}) {
      ReplyQueue q;
      Expectation e = fwd(c.kind);
      e.fate = fate;
      expect(q, e);
      expect(q, fwd(Kind::Sync));
      int ready = c.kind == Kind::Sync || c.kind == Kind::Query || c.kind == Kind::FunctionCall ? 2 : 1;
      CHECK(q.pending_ready() == ready);
      for (char part : c.part) {
        Route r = on(q, part);
        CHECK(r.forward == (fate == Fate::Forward));
        CHECK_FALSE(r.finished_request);
        CHECK(q.size() == 2);
      }
      Route r = on(q, c.end);
      CHECK(r.forward == (fate == Fate::Forward));
      CHECK(r.finished_request == (ready == 2));
      CHECK(q.size() == 1);
      CHECK(q.pending_ready() == 1);
      r = on(q, 'Z');
      CHECK(r.forward);
      CHECK(r.finished_request);
      CHECK(q.empty());
      CHECK(q.pending_ready() == 0);
    }
  }
}

TEST_CASE("reply queue: a reply of another kind does not end the head") {
  ReplyQueue q;
  expect(q, fwd(Kind::Bind));
  on(q, '1');
  on(q, 'C');
  on(q, 'Z');
  CHECK(q.size() == 1);
  on(q, '2');
  CHECK(q.empty());
}

TEST_CASE("reply queue: asynchronous messages are always forwarded and end nothing") {
  ReplyQueue q;
  expect(q, hide(Kind::Parse, 1));
  for (char type : {'N', 'S', 'A'}) {
    Route r = on(q, type);
    CHECK(r.forward);
    CHECK(q.size() == 1);
  }
  CHECK_FALSE(on(q, '1').forward);
  CHECK(q.empty());
  // With nothing expected, a message is forwarded (FATAL errors, notices).
  CHECK(on(q, 'N').forward);
  CHECK(on_error(q, "57P01", "terminating connection due to administrator command").forward);
}

TEST_CASE("reply queue: the proxy's answers, each encoded as PostgreSQL would") {
  SUBCASE("ParseComplete") {
    ReplyQueue q;
    Bytes out;
    q.expect(answered(Kind::Parse, Answer::ParseComplete), out);
    CHECK(render(out) == "[1] ");
    CHECK(q.empty());
  }
  SUBCASE("CloseComplete") {
    ReplyQueue q;
    Bytes out;
    q.expect(answered(Kind::Close, Answer::CloseComplete), out);
    CHECK(render(out) == "[3] ");
  }
  SUBCASE("DEALLOCATE carries the transaction status") {
    ReplyQueue q;
    Bytes out;
    q.expect(answered(Kind::Query, Answer::Deallocate, 'T'), out);
    CHECK(render(out) == "[CDEALLOCATE|] [ZT] ");
    CHECK(q.pending_ready() == 0);
    CHECK(q.empty());
  }
  SUBCASE("a refusal is an ERROR 0A000 and ReadyForQuery") {
    ReplyQueue q;
    Bytes out;
    Expectation e = answered(Kind::Query, Answer::Refuse, 'I');
    e.refusal = std::make_shared<const std::pair<std::string, std::string>>("no blocks", "use another mode");
    q.expect(e, out);
    auto msgs = split(out);
    REQUIRE(msgs.size() == 2);
    CHECK(sqlstate_of(msgs[0]) == "0A000");
    auto fields = protocol::decode_error_fields(msgs[0].body);
    REQUIRE(fields);
    CHECK(fields->message() == "no blocks");
    CHECK(fields->detail() == "use another mode");
    CHECK(render(msgs[1].raw) == "[ZI] ");
    CHECK(q.pending_ready() == 0);
  }
}

TEST_CASE("reply queue: answers wait for every earlier reply, then go in order") {
  ReplyQueue q;
  expect(q, fwd(Kind::Bind, 1));
  expect(q, answered(Kind::Parse, Answer::ParseComplete));
  expect(q, fwd(Kind::Execute));
  expect(q, answered(Kind::Close, Answer::CloseComplete));
  expect(q, answered(Kind::Parse, Answer::ParseComplete));
  expect(q, hide(Kind::Parse, 2));
  expect(q, answered(Kind::Query, Answer::Deallocate, 'I'));
  expect(q, fwd(Kind::Sync));
  CHECK(q.pending_ready() == 2);

  Route r = on(q, '2');
  CHECK(r.forward);
  CHECK(render(r.answers) == "[1] ");
  r = on(q, 'D');
  CHECK(r.answers.empty());
  r = on(q, 'C');
  CHECK(r.forward);
  CHECK(render(r.answers) == "[3] [1] ");
  r = on(q, '1');  // the hidden Parse
  CHECK_FALSE(r.forward);
  CHECK(render(r.answers) == "[CDEALLOCATE|] [ZI] ");
  CHECK(q.pending_ready() == 1);
  CHECK_FALSE(r.finished_request);
  r = on(q, 'Z');
  CHECK(r.finished_request);
  CHECK(q.empty());
  CHECK(q.pending_ready() == 0);
}

TEST_CASE("reply queue: an error mid-pipeline skips to Sync, dropping answers, reporting unprepared statements") {
  ReplyQueue q;
  expect(q, fwd(Kind::Parse, 1));
  expect(q, fwd(Kind::Bind, 1));
  expect(q, fwd(Kind::Execute));
  expect(q, answered(Kind::Parse, Answer::ParseComplete));  // hit: never sent
  expect(q, hide(Kind::Close));                             // eviction
  expect(q, hide(Kind::Parse, 2));                          // injected
  expect(q, fwd(Kind::Parse, 3));                           // the client's
  expect(q, fwd(Kind::Parse));                              // unnamed
  expect(q, fwd(Kind::Bind, 2));
  expect(q, fwd(Kind::Execute));
  expect(q, answered(Kind::Close, Answer::CloseComplete));
  expect(q, fwd(Kind::Sync));
  expect(q, fwd(Kind::Parse, 4));  // after the Sync: runs
  expect(q, fwd(Kind::Sync));
  CHECK(q.pending_ready() == 2);

  CHECK(on(q, '1').answers.empty());
  on(q, '2');
  Route r = on_error(q);
  CHECK(r.forward);
  CHECK(r.answers.empty());
  CHECK(r.not_prepared == std::vector<std::uint64_t>{2, 3});
  CHECK(r.stale_statement == 0);
  CHECK_FALSE(r.finished_request);
  CHECK_FALSE(q.skipping());
  CHECK(q.size() == 3);  // Sync, Parse 4, Sync
  CHECK(q.pending_ready() == 2);
  r = on(q, 'Z');
  CHECK(r.forward);
  CHECK(r.finished_request);
  CHECK(on(q, '1').forward);
  CHECK(on(q, 'Z').finished_request);
  CHECK(q.empty());
  CHECK(q.pending_ready() == 0);
}

TEST_CASE("reply queue: a skipped Parse of a statement sent again after the Sync is not reported") {
  // The proxy believed statement 1 prepared when the first Parse went out, evicted it (Close)
  // and prepared it again in later batches, before the first batch's error arrived. The later
  // Parse decides: reporting the skipped one would make the proxy forget what the server has.
  ReplyQueue q;
  expect(q, fwd(Kind::DescribeStatement));  // fails: the rest of the batch is skipped
  expect(q, fwd(Kind::Parse, 1));
  expect(q, fwd(Kind::Parse, 2));
  expect(q, hide(Kind::Close, 3));          // an eviction, skipped too
  expect(q, fwd(Kind::Sync));
  expect(q, hide(Kind::Close, 1));          // after the Sync: evicts 1 ...
  expect(q, hide(Kind::Parse, 1));          // ... and prepares it again
  expect(q, answered(Kind::Parse, Answer::ParseComplete));
  expect(q, hide(Kind::Close, 3));          // 3 is closed again: the first Close's fate is moot
  expect(q, fwd(Kind::Sync));
  Route r = on_error(q, "26000", "prepared statement \"a\" does not exist");
  CHECK(r.not_prepared == std::vector<std::uint64_t>{2});
  CHECK(r.not_closed.empty());
  CHECK(on(q, 'Z').finished_request);
  on(q, '3');
  on(q, '1');
  on(q, '3');
  CHECK(on(q, 'Z').finished_request);
  CHECK(q.empty());
}

TEST_CASE("reply queue: an eviction skipped, then the Parse of the same statement skipped too: no change") {
  // Statement 1 ran; its eviction was skipped (the server still has it), and the Parse that the
  // proxy sent later, believing it gone, was skipped as well: the server has it, as the proxy's
  // view (which counted the Parse) says. Reporting the Parse made the proxy forget it.
  ReplyQueue q;
  expect(q, hide(Kind::Parse, 1));
  expect(q, fwd(Kind::Bind));  // fails
  expect(q, hide(Kind::Close, 1));
  expect(q, fwd(Kind::Sync));
  expect(q, fwd(Kind::Bind));  // fails
  expect(q, hide(Kind::Parse, 1));
  expect(q, fwd(Kind::Sync));
  on(q, '1');
  Route r = on_error(q, "26000", "unnamed prepared statement does not exist");
  CHECK(r.not_closed.empty());
  CHECK(r.not_prepared.empty());
  on(q, 'Z');
  r = on_error(q, "26000", "unnamed prepared statement does not exist");
  CHECK(r.not_prepared.empty());
  CHECK(r.not_closed.empty());
  CHECK(on(q, 'Z').finished_request);
}

TEST_CASE("reply queue: in one skipped batch, an eviction and a Parse of the same statement cancel out") {
  ReplyQueue q;
  expect(q, fwd(Kind::Execute));
  expect(q, hide(Kind::Close, 7));
  expect(q, hide(Kind::Parse, 7));
  expect(q, fwd(Kind::Sync));
  Route r = on_error(q);
  CHECK(r.not_closed.empty());
  CHECK(r.not_prepared.empty());
}

TEST_CASE("reply queue: a skipped eviction alone is reported; so is a skipped Parse alone") {
  ReplyQueue q;
  expect(q, fwd(Kind::Execute));
  expect(q, hide(Kind::Close, 7));
  expect(q, hide(Kind::Parse, 8));
  expect(q, fwd(Kind::Sync));
  Route r = on_error(q);
  CHECK(r.not_closed == std::vector<std::uint64_t>{7});
  CHECK(r.not_prepared == std::vector<std::uint64_t>{8});
}

TEST_CASE("reply queue: a restoring Parse that ran reports its statement only when no eviction of it follows") {
  ReplyQueue q;
  Expectation restore = hide(Kind::Parse);
  restore.restores = 4;
  expect(q, restore);
  expect(q, fwd(Kind::Execute));    // fails ...
  expect(q, hide(Kind::Close, 4));  // ... so this eviction (the view: gone) is skipped
  expect(q, fwd(Kind::Sync));
  Route r = on(q, '1');
  CHECK(r.found_prepared.empty());  // the eviction on its way decides
  r = on_error(q);
  CHECK(r.not_closed == std::vector<std::uint64_t>{4});  // still there: close it later
  CHECK(on(q, 'Z').finished_request);

  ReplyQueue alone;
  expect(alone, restore);
  expect(alone, fwd(Kind::Sync));
  CHECK(on(alone, '1').found_prepared == std::vector<std::uint64_t>{4});
}

TEST_CASE("reply queue: an error of a Parse reports that statement, also for a hidden Parse") {
  ReplyQueue q;
  expect(q, hide(Kind::Parse, 5));
  expect(q, fwd(Kind::Bind, 5));
  expect(q, fwd(Kind::Execute));
  expect(q, fwd(Kind::Sync));
  Route r = on_error(q, "42P01", "relation \"t\" does not exist");
  CHECK(r.forward);  // the client must see it even though its Parse was injected
  CHECK(r.not_prepared == std::vector<std::uint64_t>{5});
  CHECK(q.size() == 1);
  CHECK(on(q, 'Z').finished_request);
}

TEST_CASE("reply queue: an error skips a simple Query queued before the Sync (PostgreSQL ignores it too)") {
  ReplyQueue q;
  expect(q, fwd(Kind::Bind));
  expect(q, fwd(Kind::Execute));
  expect(q, fwd(Kind::Query));
  expect(q, fwd(Kind::Sync));
  CHECK(q.pending_ready() == 2);
  on_error(q);
  CHECK(q.pending_ready() == 1);
  CHECK(q.size() == 1);
  CHECK(on(q, 'Z').finished_request);
  CHECK(q.pending_ready() == 0);
}

TEST_CASE("reply queue: errors of Sync and Query are ended by their ReadyForQuery") {
  for (Kind kind : {Kind::Sync, Kind::Query, Kind::FunctionCall}) {
    ReplyQueue q;
    expect(q, fwd(kind));
    expect(q, fwd(Kind::Parse, 9));
    expect(q, fwd(Kind::Sync));
    Route r = on_error(q, "40001", "could not serialize access");
    CHECK(r.forward);
    CHECK(r.not_prepared.empty());
    CHECK(q.size() == 3);
    CHECK(on(q, 'Z').finished_request);
    CHECK(on(q, '1').forward);
    CHECK(on(q, 'Z').finished_request);
    CHECK(q.empty());
  }
}

TEST_CASE("reply queue: a Flush-only pipeline, its error, and skipping until the Sync") {
  ReplyQueue q;
  expect(q, fwd(Kind::Parse, 1));
  expect(q, fwd(Kind::DescribeStatement, 1));
  CHECK(q.pending_ready() == 0);
  CHECK(on(q, '1').forward);
  on(q, 't');
  Route r = on(q, 'T');
  CHECK(r.forward);
  CHECK_FALSE(r.finished_request);  // no ReadyForQuery comes for a Flush
  CHECK(q.empty());
  CHECK_FALSE(q.skipping());

  expect(q, fwd(Kind::Bind, 1));
  expect(q, answered(Kind::Parse, Answer::ParseComplete));
  expect(q, hide(Kind::Parse, 7));
  expect(q, fwd(Kind::Execute));
  r = on_error(q);
  CHECK(r.forward);
  CHECK(r.answers.empty());
  CHECK(r.not_prepared == std::vector<std::uint64_t>{7});
  CHECK(q.empty());
  CHECK(q.skipping());  // nothing queued up to a Sync: the server ignores what comes next

  // The Sync ends the skipping; its ReadyForQuery ends the request.
  expect(q, fwd(Kind::Sync));
  CHECK_FALSE(q.skipping());
  CHECK(q.pending_ready() == 1);
  r = on(q, 'Z');
  CHECK(r.forward);
  CHECK(r.finished_request);
  CHECK(q.empty());
}

TEST_CASE("reply queue: an answer due while skipping is dropped with the rest") {
  ReplyQueue q;
  expect(q, fwd(Kind::Execute));
  expect(q, answered(Kind::Close, Answer::CloseComplete));
  Route r = on_error(q);
  CHECK(r.answers.empty());
  CHECK(q.skipping());
}

TEST_CASE("reply queue: 0A000 cached plan must not change result type reports the stale statement") {
  SUBCASE("at Bind") {
    ReplyQueue q;
    expect(q, fwd(Kind::Bind, 12));
    expect(q, fwd(Kind::Execute));
    expect(q, fwd(Kind::Sync));
    Route r = on_error(q, "0A000", kCachedPlanChanged);
    CHECK(r.forward);
    CHECK(r.stale_statement == 12);
    CHECK(r.not_prepared.empty());
    CHECK(q.size() == 1);
  }
  SUBCASE("at Describe of the statement") {
    ReplyQueue q;
    expect(q, fwd(Kind::DescribeStatement, 13));
    expect(q, fwd(Kind::Sync));
    CHECK(on_error(q, "0A000", kCachedPlanChanged).stale_statement == 13);
  }
  SUBCASE("another 0A000 is not") {
    ReplyQueue q;
    expect(q, fwd(Kind::Bind, 12));
    expect(q, fwd(Kind::Sync));
    CHECK(on_error(q, "0A000", "cannot do that").stale_statement == 0);
  }
  SUBCASE("the same text under another SQLSTATE is not") {
    ReplyQueue q;
    expect(q, fwd(Kind::Bind, 12));
    expect(q, fwd(Kind::Sync));
    CHECK(on_error(q, "XX000", kCachedPlanChanged).stale_statement == 0);
  }
}

TEST_CASE("reply queue: pending_ready counts the ReadyForQuery messages to come") {
  ReplyQueue q;
  Bytes out;
  q.expect(fwd(Kind::Query), out);
  q.expect(fwd(Kind::Parse, 1), out);
  q.expect(fwd(Kind::Sync), out);
  q.expect(fwd(Kind::FunctionCall), out);
  q.expect(answered(Kind::Query, Answer::Deallocate), out);  // waits behind the others
  CHECK(out.empty());
  CHECK(q.pending_ready() == 4);
  CHECK(on(q, 'Z').finished_request);
  CHECK(q.pending_ready() == 3);
  on(q, '1');
  on(q, 'Z');
  CHECK(q.pending_ready() == 2);
  Route r = on(q, 'Z');
  CHECK(render(r.answers) == "[CDEALLOCATE|] [ZI] ");
  CHECK(q.pending_ready() == 0);
  CHECK(q.empty());
  q.expect(fwd(Kind::Sync), out);
  q.clear();
  CHECK(q.pending_ready() == 0);
  CHECK(q.empty());
  CHECK_FALSE(q.skipping());
}

TEST_CASE("reply queue: the proxy's internal query is hidden whole, its error too, and ends no request") {
  ReplyQueue q;
  expect(q, fwd(Kind::Query));
  Expectation internal = hide(Kind::Query);
  internal.internal = true;
  expect(q, internal);
  CHECK(q.pending_ready() == 2);
  CHECK(on(q, 'C').forward);
  Route client_end = q.on_server_message('Z', Bytes{'T'});
  CHECK(client_end.finished_request);
  CHECK_FALSE(client_end.finished_internal);
  Route row = on(q, 'D');
  CHECK_FALSE(row.forward);
  CHECK(row.internal);
  Route error = on_error(q, "25P02", "current transaction is aborted");
  CHECK_FALSE(error.forward);
  CHECK(error.internal);
  Route end = q.on_server_message('Z', Bytes{'E'});
  CHECK_FALSE(end.forward);
  CHECK_FALSE(end.finished_request);
  CHECK(end.finished_internal);
  CHECK(q.pending_ready() == 0);
  CHECK(q.empty());
}

TEST_CASE("reply queue: a refused statement's stand-in fails; the client hears the refusal") {
  auto refusal = std::make_shared<const std::pair<std::string, std::string>>("CREATE TABLE is refused", "why");
  SUBCASE("a simple Query: the refusal, then the server's ReadyForQuery") {
    ReplyQueue q;
    expect(q, fwd(Kind::Query));
    q.refuse_last(refusal);
    Route r = on_error(q, "42601", "syntax error at or near \"ouroboros\"");
    CHECK_FALSE(r.forward);
    CHECK(r.refused);
    auto msgs = split(r.answers);
    REQUIRE(msgs.size() == 1);
    CHECK(sqlstate_of(msgs[0]) == "0A000");
    CHECK(protocol::decode_error_fields(msgs[0].body)->message() == "CREATE TABLE is refused");
    r = on(q, 'Z');
    CHECK(r.forward);  // the status is the server's: 'E' inside a block
    CHECK(r.finished_request);
    CHECK(q.empty());
  }
  SUBCASE("a Parse mid-batch: marked past the hidden messages after it, the batch skips to Sync") {
    ReplyQueue q;
    expect(q, fwd(Kind::Parse));  // an earlier statement of the batch
    expect(q, fwd(Kind::Bind));
    expect(q, fwd(Kind::Execute));
    expect(q, fwd(Kind::Parse, 7));  // the stand-in
    expect(q, hide(Kind::Close, 3));
    q.refuse_last(refusal);
    expect(q, fwd(Kind::Bind, 7));
    expect(q, fwd(Kind::Execute));
    expect(q, fwd(Kind::Sync));
    CHECK(on(q, '1').forward);
    CHECK(on(q, '2').forward);
    CHECK(on(q, 'C').forward);
    Route r = on_error(q, "42601", "syntax error");
    CHECK_FALSE(r.forward);
    CHECK(r.refused);
    CHECK(sqlstate_of(split(r.answers).at(0)) == "0A000");
    CHECK(r.not_prepared == std::vector<std::uint64_t>{7});
    CHECK(r.not_closed == std::vector<std::uint64_t>{3});
    CHECK(on(q, 'Z').finished_request);
    CHECK(q.empty());
  }
  SUBCASE("other errors pass as they are") {
    ReplyQueue q;
    expect(q, fwd(Kind::Query));
    Route r = on_error(q);
    CHECK(r.forward);
    CHECK_FALSE(r.refused);
    CHECK(r.answers.empty());
  }
}

TEST_CASE("reply queue: a Route kept and reused by the caller starts every message as a new one") {
  ReplyQueue q;
  expect(q, fwd(Kind::Parse, 1));
  expect(q, answered(Kind::Parse, Answer::ParseComplete));
  expect(q, hide(Kind::Close, 7));
  expect(q, fwd(Kind::Sync));
  expect(q, fwd(Kind::Query));
  const Bytes failed = error_body("42601", "syntax error");
  Route route;
  q.on_server_message('E', failed, route);  // the Parse failed: statement 1 not prepared, answers dropped
  CHECK(route.not_prepared == std::vector<std::uint64_t>{1});
  CHECK(route.not_closed == std::vector<std::uint64_t>{7});
  const Bytes idle = {'I'};
  q.on_server_message('Z', idle, route);  // nothing of the error's verdict is left over
  CHECK(route.forward);
  CHECK(route.finished_request);
  CHECK(route.not_prepared.empty());
  CHECK(route.not_closed.empty());
  CHECK(route.answers.empty());
  q.on_server_message('C', as_bytes(std::string_view("SELECT 1\0", 9)), route);
  CHECK_FALSE(route.finished_request);
  q.on_server_message('Z', idle, route);
  CHECK(route.finished_request);
  CHECK(q.empty());
}
