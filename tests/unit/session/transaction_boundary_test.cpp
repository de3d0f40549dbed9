// The end of what a client sent (its server answered everything): scripted facts, no sockets.
#include "session/transaction_boundary.h"

#include <doctest/doctest.h>

#include <initializer_list>

using namespace ouroboros::session;
using Step = BoundaryDecision::Step;

namespace {

BoundaryFacts session_mode(char status) {
  BoundaryFacts f;
  f.transaction_status = status;
  f.transaction_open = true;
  return f;
}

BoundaryFacts transaction_mode(char status) {
  BoundaryFacts f = session_mode(status);
  f.pooled = true;
  return f;
}

BoundaryFacts statement_mode(char status) {
  BoundaryFacts f = transaction_mode(status);
  f.statement_mode = true;
  return f;
}

}  // namespace

TEST_CASE("session mode keeps its server; a transaction ends only when idle") {
  CHECK(decide_at_boundary(session_mode('I')) == BoundaryDecision{Step::KeepServer, Step::KeepServer, true});
  CHECK(decide_at_boundary(session_mode('T')) == BoundaryDecision{Step::KeepServer, Step::KeepServer, false});
  CHECK(decide_at_boundary(session_mode('E')) == BoundaryDecision{Step::KeepServer, Step::KeepServer, false});
  BoundaryFacts nothing_sent = session_mode('I');
  nothing_sent.transaction_open = false;  // e.g. a request the proxy answered itself
  CHECK_FALSE(decide_at_boundary(nothing_sent).transaction_ended);
}

TEST_CASE("transaction mode offers the server at the end of a transaction, not inside a block") {
  CHECK(decide_at_boundary(transaction_mode('I')) == BoundaryDecision{Step::OfferServer, Step::KeepServer, true});
  CHECK(decide_at_boundary(transaction_mode('T')).step == Step::KeepServer);
  CHECK(decide_at_boundary(transaction_mode('E')).step == Step::KeepServer);
}

TEST_CASE("statement mode refuses a transaction block that slipped through") {
  CHECK(decide_at_boundary(statement_mode('T')) == BoundaryDecision{Step::RefuseTransactionBlock, Step::KeepServer, false});
  CHECK(decide_at_boundary(statement_mode('E')).step == Step::RefuseTransactionBlock);
  CHECK(decide_at_boundary(statement_mode('I')).step == Step::OfferServer);
}

TEST_CASE("a pending retry is not the end of its request") {
  for (BoundaryFacts f : {session_mode('I'), transaction_mode('I'), statement_mode('T')}) {
    f.retry_pending = true;
    CHECK(decide_at_boundary(f) == BoundaryDecision{});
  }
}

TEST_CASE("a graceful shutdown ends the session once no transaction is open") {
  BoundaryFacts f = session_mode('I');
  f.shutdown_requested = true;
  CHECK(decide_at_boundary(f).step == Step::Shutdown);
  f.transaction_status = 'T';  // waits for the block to end
  CHECK(decide_at_boundary(f).step == Step::KeepServer);
  BoundaryFacts pooled = transaction_mode('I');
  pooled.shutdown_requested = true;
  // Offered back first; a pinned client that keeps its server ends anyway.
  CHECK(decide_at_boundary(pooled) == BoundaryDecision{Step::OfferServer, Step::Shutdown, true});
}
