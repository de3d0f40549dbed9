#include "sql/session_effect.h"

namespace ouroboros::sql {

std::string_view effect_name(SessionEffectKind kind) {
  switch (kind) {
    case SessionEffectKind::Begin:
      return "begin";
    case SessionEffectKind::Commit:
      return "commit";
    case SessionEffectKind::Rollback:
      return "rollback";
    case SessionEffectKind::Savepoint:
      return "savepoint";
    case SessionEffectKind::Release:
      return "release";
    case SessionEffectKind::RollbackTo:
      return "rollback_to";
    case SessionEffectKind::PrepareTransaction:
      return "prepare_transaction";
    case SessionEffectKind::CommitPrepared:
      return "commit_prepared";
    case SessionEffectKind::Set:
      return "set";
    case SessionEffectKind::SetLocal:
      return "set_local";
    case SessionEffectKind::SetUnknown:
      return "set_unknown";
    case SessionEffectKind::Reset:
      return "reset";
    case SessionEffectKind::ResetAll:
      return "reset_all";
    case SessionEffectKind::DiscardAll:
      return "discard_all";
    case SessionEffectKind::DiscardPlans:
      return "discard_plans";
    case SessionEffectKind::DiscardSequences:
      return "discard_sequences";
    case SessionEffectKind::DiscardTemp:
      return "discard_temp";
    case SessionEffectKind::Prepare:
      return "prepare";
    case SessionEffectKind::Execute:
      return "execute";
    case SessionEffectKind::Deallocate:
      return "deallocate";
    case SessionEffectKind::DeallocateAll:
      return "deallocate_all";
    case SessionEffectKind::Listen:
      return "listen";
    case SessionEffectKind::Unlisten:
      return "unlisten";
    case SessionEffectKind::UnlistenAll:
      return "unlisten_all";
    case SessionEffectKind::Notify:
      return "notify";
    case SessionEffectKind::CreateTemp:
      return "create_temp";
    case SessionEffectKind::DropObject:
      return "drop_object";
    case SessionEffectKind::AdvisoryLock:
      return "advisory_lock";
    case SessionEffectKind::AdvisoryLockShared:
      return "advisory_lock_shared";
    case SessionEffectKind::AdvisoryUnlock:
      return "advisory_unlock";
    case SessionEffectKind::AdvisoryUnlockShared:
      return "advisory_unlock_shared";
    case SessionEffectKind::AdvisoryUnlockAll:
      return "advisory_unlock_all";
    case SessionEffectKind::DeclareHoldCursor:
      return "declare_hold_cursor";
    case SessionEffectKind::Close:
      return "close";
    case SessionEffectKind::CloseAll:
      return "close_all";
    case SessionEffectKind::Load:
      return "load";
  }
  return "unknown";
}

}  // namespace ouroboros::sql
