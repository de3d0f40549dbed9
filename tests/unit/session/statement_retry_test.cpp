// The automatic retry of one autocommit statement, driven by scripted client messages and run
// outcomes: no sockets, no server, no timers (the delay is only told).
#include "session/statement_retry.h"

#include "sim.h"

using namespace ouroboros;
using namespace ouroboros::session;
using namespace ouroboros::session::test;

namespace {

const std::vector<std::string> kSqlstates = {"40P01", "40001"};

RetryPolicy policy(std::size_t attempts = 3) {
  return {attempts, kSqlstates, pool::BackoffPolicy{std::chrono::milliseconds(10), std::chrono::seconds(1), 2.0, 0.5}};
}

// Feeds a client stream message by message; false as soon as the retry gives up on it.
bool track_all(StatementRetry& retry, const Bytes& stream) {
  for (const Msg& m : split(stream)) {
    std::optional<std::string_view> text;
    if (m.type == 'Q') text = m.text().substr(0, m.text().size() - 1);
    const sql::QueryShape shape = text ? sql::query_shape(*text) : sql::QueryShape{};
    if (!retry.track(m.type, m.raw, text, shape)) return false;
  }
  return true;
}

StatementRetry started() {
  StatementRetry retry;
  retry.start({}, {});
  return retry;
}

}  // namespace

TEST_CASE("retry: a deadlocked Query runs again after a backoff; the client sees only the last run") {
  RandomSource random(1);
  StatementRetry retry = started();
  CHECK(retry.holding());
  const Bytes request = query("UPDATE t SET n = n + 1 WHERE id = 1");
  CHECK(track_all(retry, request));
  CHECK(retry.hold(as_bytes(std::string_view("first run's output"))));
  auto verdict = retry.finished("40P01", "deadlock detected", policy(), random);
  CHECK(verdict.again);
  CHECK(verdict.delay >= std::chrono::milliseconds(5));   // 10 ms, jitter 0.5
  CHECK(verdict.delay <= std::chrono::milliseconds(15));
  CHECK(retry.pending());
  CHECK(retry.take_held().empty());  // the failed run's output is dropped

  CHECK(retry.begin_refeed() == request);  // exactly what the client sent
  CHECK(retry.refeeding());
  CHECK_FALSE(retry.pending());
  CHECK(retry.attempt() == 2);
  CHECK(track_all(retry, request));  // not tracked again
  retry.end_refeed();
  CHECK(retry.hold(as_bytes(std::string_view("UPDATE 1"))));
  verdict = retry.finished("", "", policy(), random);
  CHECK_FALSE(verdict.again);
  CHECK(verdict.reran);
  CHECK(verdict.sqlstate == "40P01");
  CHECK(as_chars(retry.take_held()) == "UPDATE 1");
}

TEST_CASE("retry: each run waits longer, and the last allowed run's error goes through") {
  RandomSource random(2);
  StatementRetry retry = started();
  REQUIRE(track_all(retry, query("SELECT f()")));
  auto first = retry.finished("40001", "could not serialize access", policy(3), random);
  REQUIRE(first.again);
  retry.begin_refeed();
  retry.end_refeed();
  auto second = retry.finished("40001", "could not serialize access", policy(3), random);
  REQUIRE(second.again);
  CHECK(second.delay >= std::chrono::milliseconds(10));  // 20 ms, jitter 0.5
  retry.begin_refeed();
  retry.end_refeed();
  auto last = retry.finished("40001", "could not serialize access", policy(3), random);
  CHECK_FALSE(last.again);
  CHECK(last.reran);
  CHECK(retry.attempt() == 3);
}

TEST_CASE("retry: errors not on the list, and successes, are final at once") {
  RandomSource random(3);
  StatementRetry retry = started();
  REQUIRE(track_all(retry, query("SELECT 1/0")));
  auto verdict = retry.finished("22012", "division by zero", policy(), random);
  CHECK_FALSE(verdict.again);
  CHECK_FALSE(verdict.reran);
  StatementRetry ok = started();
  REQUIRE(track_all(ok, query("SELECT 1")));
  CHECK_FALSE(ok.finished("", "", policy(), random).again);
}

TEST_CASE("retry: what cannot run again is given up before it ends") {
  SUBCASE("two statements in one Query") {
    StatementRetry retry = started();
    CHECK_FALSE(track_all(retry, query("UPDATE t SET n = 1; UPDATE t SET n = 2")));
  }
  SUBCASE("a semicolon inside a literal is one statement") {
    StatementRetry retry = started();
    CHECK(track_all(retry, query("SELECT 'a;b'")));
  }
  SUBCASE("a second request pipelined behind the first") {
    StatementRetry retry = started();
    CHECK_FALSE(track_all(retry, cat({query("SELECT 1"), query("SELECT 2")})));
  }
  SUBCASE("a Flush: the client wants output before its Sync") {
    StatementRetry retry = started();
    CHECK_FALSE(track_all(retry, cat({parse("", "SELECT 1"), bind(""), execute(), flush_msg()})));
  }
  SUBCASE("two Executes in one batch") {
    StatementRetry retry = started();
    CHECK_FALSE(track_all(retry, cat({parse("", "SELECT 1"), bind(""), execute(), bind(""), execute(), sync_msg()})));
  }
  SUBCASE("a request over 256 KiB") {
    StatementRetry retry = started();
    CHECK_FALSE(track_all(retry, query("SELECT '" + std::string(300 << 10, 'x') + "'")));
  }
}

TEST_CASE("retry: a run whose output passes 1 MiB is final") {
  StatementRetry retry = started();
  REQUIRE(track_all(retry, query("SELECT repeat('x', 2000000)")));
  const Bytes chunk(600 << 10, 'x');
  CHECK(retry.hold(chunk));
  CHECK_FALSE(retry.hold(chunk));
}

TEST_CASE("retry: a stale cached plan runs once more at once, only for a client that describes again") {
  RandomSource random(4);
  const std::string_view stale = kCachedPlanChanged;
  StatementRetry describing = started();
  REQUIRE(track_all(describing, cat({parse("", "SELECT * FROM t"), bind(""), describe('P', ""), execute(), sync_msg()})));
  auto verdict = describing.finished("0A000", stale, policy(), random);
  CHECK(verdict.again);
  CHECK(verdict.delay == Duration::zero());
  describing.begin_refeed();
  describing.end_refeed();
  verdict = describing.finished("", "", policy(), random);
  CHECK(verdict.reran);
  CHECK(verdict.stale_plan);

  StatementRetry blind = started();  // asyncpg: no Describe in the batch
  REQUIRE(track_all(blind, cat({bind("s"), execute(), sync_msg()})));
  CHECK_FALSE(blind.finished("0A000", stale, policy(), random).again);
}

TEST_CASE("retry: a notice the first run sent is not sent again by the re-run") {
  RandomSource random(5);
  StatementRetry retry = started();
  REQUIRE(track_all(retry, query("SELECT f()")));
  const ByteView notice = as_bytes(std::string_view("N...relation exists, skipping"));
  const ByteView other = as_bytes(std::string_view("N...another notice"));
  CHECK(retry.first_time_asynchronous(notice));
  REQUIRE(retry.finished("40P01", "deadlock detected", policy(), random).again);
  retry.begin_refeed();
  retry.end_refeed();
  CHECK_FALSE(retry.first_time_asynchronous(notice));  // the client has it
  CHECK(retry.first_time_asynchronous(other));
  CHECK(retry.first_time_asynchronous(notice));  // said twice by this run: the second is new
}

TEST_CASE("retry: clear gives the buffers with storage back for reuse and forgets the request") {
  RandomSource random(6);
  StatementRetry retry;
  Bytes storage;
  storage.reserve(4096);
  retry.start(std::move(storage), {});
  REQUIRE(track_all(retry, query("SELECT 1")));
  REQUIRE(retry.finished("40001", "x", policy(), random).again);
  std::vector<Bytes> given;
  retry.clear([&](Bytes buffer) { given.push_back(std::move(buffer)); });
  REQUIRE(given.size() == 1);  // the held buffer never had storage
  CHECK(given[0].capacity() >= 4096);
  CHECK(retry.idle());
  CHECK(retry.attempt() == 1);
  CHECK_FALSE(retry.finished("40001", "x", policy(), random).again);  // nothing held
}
