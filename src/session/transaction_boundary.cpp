#include "session/transaction_boundary.h"

namespace ouroboros::session {

BoundaryDecision decide_at_boundary(const BoundaryFacts& facts) {
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
