// One client's life as events in, decisions out: scripted sequences, no sockets.
#include "session/client_session.h"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros::session;
using AfterLink = ClientSession::AfterLink;
using AfterRelease = ClientSession::AfterRelease;
using AfterIdleInput = ClientSession::AfterIdleInput;
using Boundary = BoundaryDecision::Step;
using Lost = LostDecision::Step;

namespace {

// A transaction-mode client logged in from the pool's cached parameters: Idle, no server.
ClientSession pooled_client(bool statement_mode = false) {
  ClientSession s;
  s.startup_accepted();
  s.set_mode(true, statement_mode);
  REQUIRE(s.logged_in_without_server());
  return s;
}

// A session-mode client that got its server at login.
ClientSession session_client() {
  ClientSession s;
  s.startup_accepted();
  s.set_mode(false, false);
  REQUIRE(s.wait_for_server());
  REQUIRE(s.server_linked() == AfterLink::FinishLoginAndRelay);
  return s;
}

// A request arrives at a logged-in client without a server: it waits for one and gets it.
void request_gets_server(ClientSession& s) {
  REQUIRE(s.wait_for_server());
  REQUIRE(s.server_linked() == ClientSession::AfterLink::Relay);
}

LostFacts lost(bool recoverable, bool said, char status = 'I', int replies = 1) {
  LostFacts f;
  f.recoverable = recoverable;
  f.server_said = said;
  f.transaction_status = status;
  f.replies_expected = replies;
  return f;
}

}  // namespace

TEST_CASE("a transaction-mode client: idle, a request waits for a server, runs, and the server goes back") {
  ClientSession s = pooled_client();
  CHECK(s.state() == ClientState::Idle);
  CHECK(s.logged_in());
  CHECK(s.timer(false, 'I') == ClientTimer::ClientIdle);

  CHECK(ClientSession::idle_input(false) == AfterIdleInput::WaitForServer);
  REQUIRE(s.wait_for_server());
  CHECK(s.state() == ClientState::WaitingForServer);
  CHECK(s.timer(false, 'I') == ClientTimer::None);  // the pool's query_wait_timeout applies

  CHECK(s.server_linked() == AfterLink::Relay);
  CHECK(s.linked());
  CHECK(s.request_sent());        // opens the transaction
  CHECK_FALSE(s.request_sent());  // a pipelined second request is the same transaction
  CHECK(s.timer(true, 'I') == ClientTimer::Query);

  const BoundaryDecision end = s.at_boundary('I', false);
  CHECK(end.step == Boundary::OfferServer);
  CHECK(end.transaction_ended);
  CHECK_FALSE(s.transaction_open());
  CHECK(s.server_released() == AfterRelease::ReadOn);
  CHECK(s.state() == ClientState::Idle);
}

TEST_CASE("a transaction block keeps the server until it ends") {
  ClientSession s = pooled_client();
  request_gets_server(s);
  s.request_sent();  // BEGIN
  CHECK(s.at_boundary('T', false).step == Boundary::KeepServer);
  CHECK(s.transaction_open());
  CHECK(s.timer(false, 'T') == ClientTimer::IdleTransaction);
  CHECK_FALSE(s.request_sent());  // INSERT: still the same transaction
  CHECK(s.at_boundary('T', false).step == Boundary::KeepServer);
  const BoundaryDecision commit = s.at_boundary('I', false);
  CHECK(commit.step == Boundary::OfferServer);
  CHECK(commit.transaction_ended);
}

TEST_CASE("a retry pending is not the end of its request") {
  ClientSession s = pooled_client();
  request_gets_server(s);
  s.request_sent();
  CHECK(s.at_boundary('I', true) == BoundaryDecision{});  // Wait
  CHECK(s.transaction_open());
  CHECK(s.at_boundary('I', false).transaction_ended);
}

TEST_CASE("statement mode refuses a transaction block that slipped through") {
  ClientSession s = pooled_client(true);
  request_gets_server(s);
  s.request_sent();
  CHECK(s.at_boundary('T', false).step == Boundary::RefuseTransactionBlock);
  CHECK(s.server_released() == AfterRelease::ReadOn);  // the server is dropped, the client goes on
  CHECK(s.state() == ClientState::Idle);
}

TEST_CASE("a login in a pool that never had a server borrows one, then goes on without it") {
  ClientSession s;
  s.startup_accepted();
  CHECK(s.state() == ClientState::Authenticating);
  s.set_mode(true, false);
  CHECK(s.timer(false, 'I') == ClientTimer::Unchanged);  // client_login_timeout runs on
  REQUIRE(s.wait_for_server());
  CHECK_FALSE(s.waiting_request_answered());  // a login waiting is not a request to cancel
  CHECK(s.server_linked() == AfterLink::FinishLoginAndRelease);
  CHECK(s.logged_in());
  CHECK(s.server_released() == AfterRelease::ReadOn);
  CHECK(s.state() == ClientState::Idle);
  // Its first request is relayed as usual.
  REQUIRE(s.wait_for_server());
  CHECK(s.server_linked() == AfterLink::Relay);
}

TEST_CASE("a waiting login completes from the pool's parameters once it has them") {
  ClientSession s;
  s.startup_accepted();
  s.set_mode(true, false);
  REQUIRE(s.wait_for_server());
  CHECK(s.logged_in_without_server());
  CHECK(s.state() == ClientState::Idle);
  CHECK(s.logged_in());
}

TEST_CASE("session mode keeps its server; a graceful shutdown waits for the open transaction") {
  ClientSession s = session_client();
  CHECK(s.linked());
  s.request_sent();
  CHECK(s.at_boundary('T', false).step == Boundary::KeepServer);
  CHECK_FALSE(s.request_shutdown(true));  // busy: not yet
  CHECK(s.at_boundary('T', false).step == Boundary::KeepServer);
  const BoundaryDecision end = s.at_boundary('I', false);
  CHECK(end.step == Boundary::Shutdown);
  CHECK(end.transaction_ended);
}

TEST_CASE("a graceful shutdown ends an idle pooled client at once, a busy one when its server goes back") {
  ClientSession idle = pooled_client();
  CHECK(idle.request_shutdown(false));

  ClientSession busy = pooled_client();
  request_gets_server(busy);
  busy.request_sent();
  CHECK_FALSE(busy.request_shutdown(true));
  const BoundaryDecision end = busy.at_boundary('I', false);
  CHECK(end.step == Boundary::OfferServer);
  CHECK(end.if_kept == Boundary::Shutdown);  // a pinned client that keeps its server ends too
  CHECK(busy.server_released() == AfterRelease::Shutdown);
}

TEST_CASE("a request answered while waiting (a cancel) leaves the client idle") {
  ClientSession s = pooled_client();
  REQUIRE(s.wait_for_server());
  CHECK(s.waiting_request_answered());
  CHECK(s.state() == ClientState::Idle);
  CHECK_FALSE(s.waiting_request_answered());  // nothing waits any more
}

TEST_CASE("Terminate while idle ends the session") {
  CHECK(ClientSession::idle_input(true) == AfterIdleInput::Close);
}

TEST_CASE("a server lost under a pooled client: the requests in flight fail, the session goes on") {
  ClientSession s = pooled_client();
  request_gets_server(s);
  s.request_sent();
  CHECK(s.server_lost(lost(true, false)) == LostDecision{Lost::AnswerAndGoOn, false, false});
  CHECK(s.state() == ClientState::Idle);
  CHECK_FALSE(s.transaction_open());  // the next request starts a new transaction
  CHECK(s.server_released() == AfterRelease::ReadOn);

  SUBCASE("inside a block the client is left in a failed block") {
    request_gets_server(s);
    CHECK(s.request_sent());
    CHECK(s.server_lost(lost(true, true, 'T')) == LostDecision{Lost::AnswerAndGoOn, true, true});
  }
}

TEST_CASE("a server lost when the session cannot go on") {
  SUBCASE("session mode: PostgreSQL's FATAL reaches the client and ends it") {
    ClientSession s = session_client();
    CHECK(s.server_lost(lost(true, true)).step == Lost::ForwardFatalAndClose);
  }
  SUBCASE("session mode without a word from PostgreSQL: the proxy's 08006") {
    ClientSession s = session_client();
    CHECK(s.server_lost(lost(true, false)).step == Lost::FailAndClose);
  }
  SUBCASE("pooled, but not recoverable") {
    ClientSession s = pooled_client();
    request_gets_server(s);
    CHECK(s.server_lost(lost(false, true)).step == Lost::ForwardFatalAndClose);
  }
  SUBCASE("cut mid-message: only closing is clean") {
    ClientSession s = pooled_client();
    request_gets_server(s);
    LostFacts f = lost(true, true);
    f.cut_mid_message = true;
    CHECK(s.server_lost(f).step == Lost::Close);
  }
}

TEST_CASE("a server lost under a client that was not linked changes nothing") {
  ClientSession s = pooled_client();
  CHECK(s.server_lost(lost(true, true)) == LostDecision{});
  CHECK(s.state() == ClientState::Idle);
}

TEST_CASE("after close every event is ignored") {
  ClientSession s = pooled_client();
  REQUIRE(s.wait_for_server());
  CHECK(s.close());
  CHECK_FALSE(s.close());
  CHECK(s.server_linked() == AfterLink::Ignore);
  CHECK_FALSE(s.wait_for_server());
  CHECK_FALSE(s.logged_in_without_server());
  CHECK(s.server_released() == AfterRelease::Ignore);
  CHECK(s.server_lost(lost(true, true)) == LostDecision{});
  s.admin_started();
  CHECK(s.state() == ClientState::Closed);
  CHECK(s.timer(false, 'I') == ClientTimer::None);
}

TEST_CASE("the admin console is logged in and keeps no pool timer") {
  ClientSession s;
  s.startup_accepted();
  s.admin_started();
  CHECK(s.state() == ClientState::Admin);
  CHECK(s.logged_in());
  CHECK(s.timer(false, 'I') == ClientTimer::None);
}

TEST_CASE("a startup packet moves only a client in startup") {
  ClientSession s = pooled_client();
  s.startup_accepted();
  CHECK(s.state() == ClientState::Idle);
  CHECK(std::string(to_string(ClientState::WaitingForServer)) == "waiting for a server");
}
