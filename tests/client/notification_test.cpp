// LISTEN / NOTIFY across two connections: payloads, unlisten, delivery at COMMIT, timeouts and
// the socket for an application's own event loop. (Session state: not in the transaction-mode
// suite; LISTEN needs a session pooler or a direct connection.)
#include <doctest/doctest.h>
#include <poll.h>

#include "observer_recorder.hpp"
#include "test_database.hpp"

using namespace ouroboros;
using namespace std::chrono_literals;

namespace {

std::string channel(const std::string& base) {
  return client_test::unique_name(base);
}

}  // namespace

TEST_CASE("a notification reaches the listening connection with its payload and sender") {
  auto recorder = std::make_shared<client_test::Recorder>();
  ConnectOptions options;
  options.observers.push_back(recorder);
  Connection listener = client_test::connect(options);
  Connection sender = client_test::connect();
  const std::string name = channel("Orders Channel");  // case and spaces are kept
  listener.listen(name);
  const int sender_pid = sender.query_value<int>("SELECT pg_backend_pid()");
  const std::string payload = "id=42; note='quoted' \"double\" \\ back";
  sender.notify(name, payload);
  std::optional<Notification> got = listener.wait_for_notification(30s);
  REQUIRE(got.has_value());
  CHECK(got->channel == name);
  CHECK(got->payload == payload);
  CHECK(got->sender_pid == sender_pid);
  CHECK_FALSE(listener.next_notification().has_value());

  const auto ends = recorder->ends();
  REQUIRE(ends.size() == 1);
  CHECK(ends[0].kind == StatementKind::Notify);
  CHECK(ends[0].sql == "LISTEN \"" + name + "\"");
}

TEST_CASE("unlisten stops delivery; notifications in a transaction arrive at COMMIT") {
  Connection listener = client_test::connect();
  Connection sender = client_test::connect();
  const std::string first = channel("first"), second = channel("second");
  listener.listen(first);
  listener.listen(second);
  listener.unlisten(first);
  sender.notify(first, "not delivered");
  sender.notify(second, "delivered");
  // Notifications from one session arrive in order: the first would have come first.
  std::optional<Notification> got = listener.wait_for_notification(30s);
  REQUIRE(got.has_value());
  CHECK(got->channel == second);
  CHECK(got->payload == "delivered");

  {
    Transaction tx = sender.begin();
    tx.connection().notify(second, "at commit");
    CHECK_FALSE(listener.next_notification().has_value());  // not before COMMIT
    tx.commit();
  }
  got = listener.wait_for_notification(30s);
  REQUIRE(got.has_value());
  CHECK(got->payload == "at commit");

  listener.unlisten_all();
  sender.notify(second, "after unlisten_all");
  listener.listen(first);
  sender.notify(first, "after listening again");
  got = listener.wait_for_notification(30s);
  REQUIRE(got.has_value());
  CHECK(got->payload == "after listening again");
}

TEST_CASE("waiting for a notification times out with nullopt; the socket works with poll()") {
  Connection listener = client_test::connect();
  Connection sender = client_test::connect();
  const std::string name = channel("polled");
  listener.listen(name);
  CHECK_FALSE(listener.wait_for_notification(20ms).has_value());
  CHECK_FALSE(listener.wait_for_notification(0ms).has_value());
  CHECK_THROWS_AS(listener.wait_for_notification(-1ms), UsageError);
  CHECK_THROWS_AS(listener.listen(""), UsageError);

  sender.notify(name, "via poll");
  pollfd descriptor{listener.socket(), POLLIN, 0};
  REQUIRE(descriptor.fd >= 0);
  REQUIRE(::poll(&descriptor, 1, 30'000) == 1);
  std::optional<Notification> got = listener.next_notification();
  REQUIRE(got.has_value());
  CHECK(got->payload == "via poll");
  // The connection still runs statements normally.
  CHECK(listener.query_value<int>("SELECT 5") == 5);
}
