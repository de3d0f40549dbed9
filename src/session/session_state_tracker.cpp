#include "session/session_state_tracker.h"

namespace ouroboros::session {

namespace {

using K = sql::SessionEffectKind;

constexpr std::string_view kSessionAuthorization = "session_authorization";

// SET SESSION AUTHORIZATION, or set_config('session_authorization', ..., false) also when the
// value is not a constant. The LOCAL forms end with their transaction and pin nothing.
bool sets_session_authorization(const sql::SessionEffect& effect) {
  if (effect.name != kSessionAuthorization) return false;
  return effect.kind == K::Set || (effect.kind == K::SetUnknown && effect.value != "local");
}

std::string lock_key(const sql::SessionEffect& effect, bool shared) {
  return (shared ? "s:" : "x:") + effect.name;
}

// What the effect would leave in the session that pins it, or "" when it pins nothing.
std::string pinning_state(const sql::SessionEffect& effect) {
  switch (effect.kind) {
    case K::CreateTemp:
      return "a temporary " + effect.value + " (\"" + effect.name + "\")";
    case K::AdvisoryLock:
    case K::AdvisoryLockShared:
      return "a session advisory lock (key " + effect.name + ")";
    case K::DeclareHoldCursor:
      return "a WITH HOLD cursor (\"" + effect.name + "\")";
    case K::Load:
      return "a loaded library (\"" + effect.name + "\")";
    case K::Set:
    case K::SetUnknown:
      return sets_session_authorization(effect) ? "a changed session user" : "";
    default:
      return "";
  }
}

}  // namespace

std::string_view pin_reason_text(PinReason reason) {
  switch (reason) {
    case PinReason::TemporaryObject:
      return "temporary table";
    case PinReason::AdvisoryLock:
      return "session advisory lock";
    case PinReason::HoldCursor:
      return "WITH HOLD cursor";
    case PinReason::Load:
      return "LOAD";
    case PinReason::SessionAuthorization:
      return "SET SESSION AUTHORIZATION";
    case PinReason::None:
      break;
  }
  return "";
}

SessionStateTracker::SessionStateTracker() : scope_(State{}) {}

void SessionStateTracker::on_statement(const sql::ClassifiedStatement& statement, bool succeeded) {
  scope_.on_statement(statement, succeeded, [this](const sql::SessionEffect& effect) { apply(effect); });
}

void SessionStateTracker::on_ready_for_query(char status) {
  scope_.ready_for_query(status);
}

void SessionStateTracker::backend_lost() {
  std::set<std::string> channels = scope_.current().channels;
  scope_ = TransactionScope<State>(State{{}, {}, std::move(channels)});
  clear_locks();
  loaded_ = false;
}

void SessionStateTracker::apply(const sql::SessionEffect& effect) {
  State& state = scope_.current();
  switch (effect.kind) {
    case K::CreateTemp:
      state.temp[effect.name] = effect.value;
      return;
    case K::DropObject:
      state.temp.erase(effect.name);
      return;
    case K::DiscardTemp:
      state.temp.clear();
      return;
    case K::DiscardAll:
      // DISCARD ALL: CLOSE ALL, UNLISTEN *, pg_advisory_unlock_all(), DISCARD PLANS, DISCARD
      // TEMP, DEALLOCATE ALL (and RESET ALL). A loaded library stays.
      state = State{};
      clear_locks();
      prepared_.clear();
      return;
    case K::AdvisoryLock:
    case K::AdvisoryLockShared:
      ++locks_[lock_key(effect, effect.kind == K::AdvisoryLockShared)];
      if (effect.value == "try" || effect.name == "?") uncertain_locks_ = true;
      return;
    case K::AdvisoryUnlock:
    case K::AdvisoryUnlockShared:
      unlock(lock_key(effect, effect.kind == K::AdvisoryUnlockShared));
      return;
    case K::AdvisoryUnlockAll:
      clear_locks();
      return;
    case K::DeclareHoldCursor:
      state.cursors.insert(effect.name);
      return;
    case K::Close:
      state.cursors.erase(effect.name);
      return;
    case K::CloseAll:
      state.cursors.clear();
      return;
    case K::Load:
      loaded_ = true;
      return;
    case K::Set:
    case K::SetUnknown:
      if (sets_session_authorization(effect)) state.session_authorization = true;
      return;
    case K::Reset:
      // RESET SESSION AUTHORIZATION, SET SESSION AUTHORIZATION DEFAULT. RESET ALL leaves the
      // session user alone, as in PostgreSQL.
      if (effect.name == kSessionAuthorization) state.session_authorization = false;
      return;
    case K::Listen:
      state.channels.insert(effect.name);
      return;
    case K::Unlisten:
      state.channels.erase(effect.name);
      return;
    case K::UnlistenAll:
      state.channels.clear();
      return;
    case K::Prepare:
      prepared_.insert(effect.name);
      return;
    case K::Deallocate:
      prepared_.erase(effect.name);
      return;
    case K::DeallocateAll:
      prepared_.clear();
      return;
    default:
      return;
  }
}

void SessionStateTracker::unlock(const std::string& key) {
  // An unlock of a key not held returns false in PostgreSQL and changes nothing. Keys that were
  // not constants ("?") only match each other; anything else stays counted until
  // pg_advisory_unlock_all(), DISCARD ALL or advisory_locks_released().
  auto it = locks_.find(key);
  if (it == locks_.end()) return;
  if (--it->second == 0) locks_.erase(it);
  if (locks_.empty()) uncertain_locks_ = false;
}

std::size_t SessionStateTracker::advisory_locks() const {
  std::size_t total = 0;
  for (const auto& [key, count] : locks_) {
    (void)key;
    total += count;
  }
  return total;
}

PinReason SessionStateTracker::pin_reason() const {
  if (!scope_.current().temp.empty()) return PinReason::TemporaryObject;
  if (!locks_.empty()) return PinReason::AdvisoryLock;
  if (!scope_.current().cursors.empty()) return PinReason::HoldCursor;
  if (loaded_) return PinReason::Load;
  if (scope_.current().session_authorization) return PinReason::SessionAuthorization;
  return PinReason::None;
}

std::string SessionStateTracker::describe_pinning_state() const {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : ", ") + part; };
  for (const auto& [name, kind] : temp_objects()) add("temporary " + kind + " \"" + name + "\"");
  if (std::size_t locks = advisory_locks(); locks > 0)
    add(std::to_string(locks) + " session advisory lock" + (locks == 1 ? "" : "s"));
  for (const std::string& cursor : hold_cursors()) add("WITH HOLD cursor \"" + cursor + "\"");
  if (loaded_) add("LOAD");
  if (session_authorization_changed()) add("SET SESSION AUTHORIZATION");
  return out;
}

std::optional<std::string> SessionStateTracker::refusal(const sql::ClassifiedStatement& statement) {
  for (const sql::SessionEffect& effect : statement.effects) {
    const std::string state = pinning_state(effect);
    if (state.empty()) continue;
    const std::string command = statement.command.empty() ? "this statement" : statement.command;
    return command + " is not supported in transaction pooling mode with session_state: " +
           "refuse: it would leave " + state + " that pins the connection to one server";
  }
  return std::nullopt;
}

}  // namespace ouroboros::session
