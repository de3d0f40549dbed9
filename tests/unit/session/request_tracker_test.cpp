// The client's requests as the query log and statistics see them, driven by scripted client
// messages and server outcomes: no sockets, no server.
#include "session/request_tracker.h"

#include "sim.h"

using namespace ouroboros;
using namespace ouroboros::session;
using namespace ouroboros::session::test;

namespace {

void send(RequestTracker& tracker, const Bytes& stream) {
  for (const Msg& m : split(stream)) {
    std::optional<protocol::Parse> parse;
    std::optional<std::string_view> text;
    if (m.type == 'P') {
      parse = protocol::decode_parse(m.body);
      REQUIRE(parse);
      text = parse->query;
    } else if (m.type == 'Q') {
      text = protocol::decode_query(m.body);
    }
    const sql::QueryShape shape = text ? sql::query_shape(*text) : sql::QueryShape{};
    tracker.on_client_message(m.type, m.body, parse ? &*parse : nullptr, text, shape);
  }
}

void fail(RequestTracker& tracker, std::string_view sqlstate, std::string_view message) {
  Bytes error;
  protocol::ErrorSpec e;
  e.sqlstate = sqlstate;
  e.message = message;
  protocol::encode_error_response(error, e);
  auto fields = protocol::decode_error_fields(ByteView(error).subspan(5));
  REQUIRE(fields);
  tracker.error(*fields);
}

}  // namespace

TEST_CASE("requests: pipelined Queries finish in order, each with its own rows, error and wait") {
  RequestTracker tracker;
  tracker.waited(std::chrono::microseconds(1500));
  send(tracker, cat({query("SELECT * FROM t"), query("SELECT 1/0"), query("SELECT 2")}));
  CHECK(tracker.size() == 3);
  tracker.rows(2);
  tracker.rows(3);
  REQUIRE(tracker.size() == 3);
  auto first = tracker.finish();
  CHECK(first.sql == "SELECT * FROM t");
  CHECK(first.rows == 5);
  CHECK(first.wait == std::chrono::microseconds(1500));
  CHECK(first.shape.key == sql::query_shape("SELECT * FROM t").key);
  CHECK_FALSE(first.error);
  fail(tracker, "22012", "division by zero");
  fail(tracker, "XX000", "a second error is not the first");
  auto second = tracker.finish();
  REQUIRE(second.error);
  CHECK(second.error->sqlstate == "22012");
  CHECK(second.error->message == "division by zero");
  CHECK(second.wait == std::chrono::microseconds(0));  // only the first request waited
  auto third = tracker.finish();
  CHECK(third.sql == "SELECT 2");
  CHECK(tracker.empty());
}

TEST_CASE("requests: an extended batch is named after the statement its Bind used") {
  RequestTracker tracker;
  send(tracker, cat({parse("s1", "SELECT $1::int"), sync_msg()}));
  send(tracker, cat({bind("s1", {"7"}), execute(), sync_msg()}));
  send(tracker, cat({parse("", "SELECT now()"), bind(""), execute(), sync_msg()}));
  auto prepare = tracker.finish();
  CHECK(prepare.sql == "SELECT $1::int");  // a Parse-only batch: its text
  auto run = tracker.finish();
  CHECK(run.sql == "SELECT $1::int");
  CHECK(run.statement == "s1");
  CHECK(run.shape.key == sql::query_shape("SELECT $1::int").key);
  auto unnamed = tracker.finish();
  CHECK(unnamed.sql == "SELECT now()");
  CHECK(unnamed.statement.empty());
}

TEST_CASE("requests: a closed statement's text is forgotten; a bare Sync and a function call still count") {
  RequestTracker tracker;
  send(tracker, cat({parse("s1", "SELECT 1"), close_statement("s1"), sync_msg()}));
  send(tracker, cat({bind("s1"), execute(), sync_msg()}));
  send(tracker, sync_msg());
  Bytes call;
  protocol::MessageWriter(call, 'F').int32(1234).int16(0).int16(0).int16(0).finish();
  send(tracker, call);
  CHECK(tracker.size() == 4);
  tracker.finish();
  auto unknown = tracker.finish();
  CHECK(unknown.sql.empty());  // s1 was closed: the server rejects the Bind; no text to log
  CHECK(unknown.statement == "s1");
  auto bare = tracker.finish();
  CHECK(bare.sql.empty());
  CHECK(tracker.finish().sql == "<function call>");
}

TEST_CASE("requests: a lost server drops the requests in flight but not the statement texts") {
  RequestTracker tracker;
  send(tracker, cat({parse("s1", "SELECT 1"), sync_msg(), query("SELECT 2")}));
  tracker.clear();
  CHECK(tracker.empty());
  tracker.rows(1);  // nothing to count it to
  send(tracker, cat({bind("s1"), execute(), sync_msg()}));
  CHECK(tracker.finish().sql == "SELECT 1");
}

TEST_CASE("requests: statement texts are kept for at most kMaxTrackedStatements names") {
  RequestTracker tracker;
  Bytes many;
  for (std::size_t i = 0; i < RequestTracker::kMaxTrackedStatements + 5; ++i)
    append(many, parse("s" + std::to_string(i), "SELECT " + std::to_string(i)));
  send(tracker, many);
  send(tracker, cat({bind("s" + std::to_string(RequestTracker::kMaxTrackedStatements + 1)), execute(), sync_msg()}));
  auto run = tracker.finish();
  CHECK(run.sql == "SELECT 0");  // the batch's first Parse; the name past the limit has no text
}

TEST_CASE("requests: a finished request's text storage is reused by the next Query") {
  RequestTracker tracker;
  send(tracker, query("SELECT abalance FROM pgbench_accounts WHERE aid = 1"));
  TrackedRequest first = tracker.finish();
  const char* storage = first.sql.data();
  tracker.recycle(std::move(first));
  send(tracker, query("SELECT 2 AS a_text_past_the_small_string_size"));
  TrackedRequest second = tracker.finish();
  CHECK(second.sql == "SELECT 2 AS a_text_past_the_small_string_size");
  CHECK(second.sql.data() == storage);  // no allocation
  CHECK(tracker.empty());
}
