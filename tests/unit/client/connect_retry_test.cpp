#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "connect.hpp"

using namespace ouroboros;
using std::chrono::milliseconds;

namespace {
pg_conn* fake_connection() {
  return reinterpret_cast<pg_conn*>(0x1000);
}

ConnectOptions options(std::vector<milliseconds>& slept, int attempts) {
  ConnectOptions o;
  o.backoff = Backoff{attempts, milliseconds(100), milliseconds(300), 0.0};
  o.sleep = [&slept](milliseconds d) { slept.push_back(d); };
  o.random = [] { return 0.25; };
  return o;
}
}  // namespace

TEST_CASE("connecting retries with backoff until the server answers") {
  std::vector<milliseconds> slept;
  int calls = 0;
  pg_conn* conn = connect_with_backoff(options(slept, 10), [&] {
    ++calls;
    if (calls < 5) return ConnectAttempt{nullptr, "connection refused\n"};
    return ConnectAttempt{fake_connection(), ""};
  });
  CHECK(conn == fake_connection());
  CHECK(calls == 5);
  CHECK(slept == std::vector<milliseconds>{milliseconds(100), milliseconds(200), milliseconds(300),
                                           milliseconds(300)});
}

TEST_CASE("giving up reports the attempts and the last error") {
  std::vector<milliseconds> slept;
  int calls = 0;
  try {
    connect_with_backoff(options(slept, 3), [&] {
      ++calls;
      return ConnectAttempt{nullptr, "attempt " + std::to_string(calls) + ": Connection refused\n"};
    });
    FAIL("expected ConnectionError");
  } catch (const ConnectionError& e) {
    CHECK(calls == 3);
    CHECK(slept.size() == 2);
    CHECK(e.sqlstate() == "08001");
    CHECK(std::string(e.what()).find("after 3 attempts") != std::string::npos);
    CHECK(std::string(e.what()).find("attempt 3: Connection refused") != std::string::npos);
  }
}

TEST_CASE("permanent refusals are not retried") {
  std::vector<milliseconds> slept;
  int calls = 0;
  auto refuse = [&](std::string message) {
    return [&calls, message] {
      ++calls;
      return ConnectAttempt{nullptr, message};
    };
  };
  CHECK_THROWS_AS(
      connect_with_backoff(options(slept, 10),
                           refuse("FATAL:  password authentication failed for user \"x\"")),
      AuthenticationError);
  CHECK_THROWS_AS(
      connect_with_backoff(options(slept, 10), refuse("FATAL:  role \"nobody\" does not exist")),
      AuthenticationError);
  try {
    connect_with_backoff(options(slept, 10), refuse("FATAL:  database \"nope\" does not exist"));
    FAIL("expected DatabaseError");
  } catch (const DatabaseError& e) {
    CHECK(e.sqlstate() == "3D000");
  }
  CHECK(calls == 3);
  CHECK(slept.empty());
  CHECK_FALSE(is_permanent_connect_failure("FATAL:  the database system is starting up"));
  CHECK_FALSE(is_permanent_connect_failure("FATAL:  sorry, too many clients already"));
}
