#include "session/listen_registry.h"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using namespace ouroboros::session;
using Ids = std::vector<ListenRegistry::ClientId>;
using Channels = std::set<std::string>;

TEST_CASE("the listener holds the union of the clients' committed channels") {
  ListenRegistry r;
  CHECK(r.empty());
  r.settle(1, {"a", "b"});
  r.settle(2, {"b", "c"});
  CHECK(r.channels() == Channels{"a", "b", "c"});
  CHECK(r.subscribers("b") == Ids{1, 2});
  CHECK(r.subscribers("a") == Ids{1});
  CHECK(r.subscribers("zzz").empty());
  CHECK(r.listens(2, "c"));
  CHECK_FALSE(r.listens(1, "c"));
}

TEST_CASE("a channel stays while any client listens to it, goes with the last one") {
  ListenRegistry r;
  r.settle(1, {"a"});
  r.settle(2, {"a"});
  r.settle(1, {});  // UNLISTEN * by client 1
  CHECK(r.channels() == Channels{"a"});
  CHECK(r.subscribers("a") == Ids{2});
  CHECK(r.client_count() == 1);
  r.remove(2);  // client 2 disconnects
  CHECK(r.empty());
  CHECK(r.channels().empty());
  CHECK(r.client_count() == 0);
}

TEST_CASE(
    "an early LISTEN is registered and heard, but committed only at the end of its transaction") {
  ListenRegistry r;
  r.listen_ahead(1, "a");
  CHECK(r.channels() == Channels{"a"});
  CHECK(r.subscribers("a") == Ids{1});
  CHECK_FALSE(r.listens(1, "a"));
  r.settle(1, {"a"});  // committed
  CHECK(r.subscribers("a") == Ids{1});
  CHECK(r.listens(1, "a"));
  CHECK(r.channels() == Channels{"a"});
}

TEST_CASE("an early LISTEN that rolled back is dropped at the end of the transaction") {
  ListenRegistry r;
  r.settle(2, {"a"});
  r.listen_ahead(1, "a");
  r.listen_ahead(1, "b");
  CHECK(r.channels() == Channels{"a", "b"});
  r.settle(1, {});  // ROLLBACK
  CHECK(r.channels() == Channels{"a"});
  CHECK(r.subscribers("a") == Ids{2});
  CHECK_FALSE(r.listens(1, "a"));
}

TEST_CASE("an early LISTEN of a channel the client has is counted once") {
  ListenRegistry r;
  r.settle(1, {"a"});
  r.listen_ahead(1, "a");
  r.listen_ahead(1, "a");
  r.settle(1, {});
  CHECK(r.empty());
}

TEST_CASE("a disconnect drops early and committed channels") {
  ListenRegistry r;
  r.settle(1, {"a"});
  r.listen_ahead(1, "b");
  r.remove(1);
  r.remove(1);  // twice is harmless
  CHECK(r.empty());
}

TEST_CASE("the listener's statements: UNLISTEN what goes, LISTEN what comes, quoted") {
  CHECK(listen_sync_sql({}, {}) == "");
  CHECK(listen_sync_sql({"a"}, {"a"}) == "");
  CHECK(listen_sync_sql({"a", "b"}, {"b", "c"}) == "UNLISTEN \"a\";LISTEN \"c\";");
  CHECK(listen_sync_sql({}, {"My \"Chan\""}) == "LISTEN \"My \"\"Chan\"\"\";");
  CHECK(quote_channel("x") == "\"x\"");
}
