#pragma once
// What a client session does when its server has answered everything the client sent
// (ReadyForQuery, nothing outstanding): count the transaction's end, offer the server back to the
// pool (transaction and statement mode), refuse a transaction block that slipped into statement
// mode, end the session for a graceful shutdown, or keep the server and read on. Pure: the caller
// acts on the decision; the Proxy decides whether a pinned client keeps an offered server.
#include <cstdint>

namespace ouroboros::session {

struct BoundaryFacts {
  bool pooled = false;          // transaction or statement mode: a server is lent per transaction
  bool statement_mode = false;  // statement mode: transaction blocks are refused
  char transaction_status = 'I';
  bool retry_pending = false;       // a statement waits to run again: its request has not ended
  bool transaction_open = false;    // a request went out since the last idle ReadyForQuery
  bool shutdown_requested = false;  // graceful shutdown: end the session once nothing is open
};

struct BoundaryDecision {
  enum class Step : std::uint8_t {
    Wait,                    // not the end yet (a retry is pending): nothing to do
    RefuseTransactionBlock,  // statement mode: roll the block back, answer 0A000, drop the server
    OfferServer,             // hand the server back, unless it is kept (pinned): then `if_kept`
    Shutdown,                // end the session (FATAL 57P01)
    KeepServer,              // keep the server and read the client's next requests
  };
  Step step = Step::Wait;
  Step if_kept = Step::KeepServer;  // after OfferServer: Shutdown or KeepServer
  bool transaction_ended = false;   // a transaction ended: count it (duration, metrics)

  bool operator==(const BoundaryDecision&) const = default;
};

// Inline: it runs at every transaction's end, and the facts are mostly constants there.
inline BoundaryDecision decide_at_boundary(const BoundaryFacts& facts) {
  using Step = BoundaryDecision::Step;
  BoundaryDecision decision;
  if (facts.retry_pending) return decision;  // Wait
  const bool idle = facts.transaction_status == 'I';
  decision.transaction_ended = idle && facts.transaction_open;
  if (facts.statement_mode && !idle) {
    decision.step = Step::RefuseTransactionBlock;
    return decision;
  }
  // A graceful shutdown waits for an open transaction block to end.
  const Step after = facts.shutdown_requested && idle ? Step::Shutdown : Step::KeepServer;
  if (facts.pooled && idle) {
    decision.step = Step::OfferServer;
    decision.if_kept = after;
  } else {
    decision.step = after;
  }
  return decision;
}

}  // namespace ouroboros::session
