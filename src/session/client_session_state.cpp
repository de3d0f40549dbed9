#include "session/client_session_state.h"

#include <utility>

namespace ouroboros::session {

namespace {

using K = sql::SessionEffectKind;

bool has_effects(const sql::Classification& classification) {
  for (const auto& statement : classification.statements)
    if (!statement.effects.empty()) return true;
  return false;
}

}  // namespace

ClientSessionState::ClientSessionState(pool::Settings startup_settings, Outstanding outstanding)
    : settings_(std::move(startup_settings)), plain_tail_(outstanding.requests) {
  batch_.resize(outstanding.batch_executes);
}

void ClientSessionState::query(const sql::Classification& classification) {
  // A text PostgreSQL's parser rejects runs nothing; one with no effect changes nothing.
  if (classification.syntax_error || !has_effects(classification)) return plain_request();
  requests_.push_back(Request{plain_tail_, classification.statements, 0, false});
  plain_tail_ = 0;
}

void ClientSessionState::plain_request() { ++plain_tail_; }

void ClientSessionState::parse(std::string_view statement, const sql::Classification* classification) {
  std::string name(statement);
  // A Parse holds one statement (PostgreSQL refuses more); a text without effects needs no entry.
  if (classification && !classification->syntax_error && classification->statements.size() == 1 &&
      !classification->statements.front().effects.empty()) {
    statements_[std::move(name)] = classification->statements.front();
  } else {
    statements_.erase(name);
  }
}

void ClientSessionState::bind(std::string_view portal, std::string_view statement) {
  std::string name(portal);
  if (auto it = statements_.find(std::string(statement)); it != statements_.end()) {
    portals_[std::move(name)] = it->second;
  } else {
    portals_.erase(name);
  }
}

void ClientSessionState::execute(std::string_view portal) {
  auto it = portals_.find(std::string(portal));
  if (it == portals_.end()) {
    batch_.emplace_back();
    return;
  }
  batch_.push_back(it->second);
  batch_tracked_ = true;
}

void ClientSessionState::close_statement(std::string_view statement) { statements_.erase(std::string(statement)); }

void ClientSessionState::sync() {
  // Portals end with the transaction; outside a block that is at Sync. Inside one they may be
  // used again, but a portal only ever re-runs its own statement, which the map still has.
  if (!settings_.in_transaction()) portals_.clear();
  if (!batch_tracked_) {
    batch_.clear();
    return plain_request();
  }
  requests_.push_back(Request{plain_tail_, std::move(batch_), 0, false});
  plain_tail_ = 0;
  batch_.clear();
  batch_tracked_ = false;
}

ClientSessionState::Request* ClientSessionState::current() {
  if (requests_.empty() || requests_.front().plain_before > 0) return nullptr;
  return &requests_.front();
}

void ClientSessionState::outcome(bool succeeded) {
  Request* request = current();
  if (!request || request->failed || request->next >= request->statements.size()) return;
  const sql::ClassifiedStatement& statement = request->statements[request->next++];
  if (!succeeded) request->failed = true;  // the rest of the request never runs
  settings_.on_statement(statement, succeeded);
  tracker_.on_statement(statement, succeeded);
  if (!succeeded || statement.effects.empty()) return;
  sql_statements_.on_statement(statement, succeeded, settings_.value("search_path"));
  changed_ = true;
  for (const sql::SessionEffect& effect : statement.effects) {
    if (effect.kind == K::Reset) resets_.push_back(effect.name);
    if (effect.kind == K::ResetAll || effect.kind == K::DiscardAll) resets_.push_back("*");
  }
}

void ClientSessionState::statement_completed() { outcome(true); }

void ClientSessionState::statement_failed() { outcome(false); }

void ClientSessionState::ready_for_query(char status) {
  if (!requests_.empty()) {
    Request& front = requests_.front();
    if (front.plain_before > 0) {
      --front.plain_before;
    } else {
      requests_.take_front();
    }
  } else if (plain_tail_ > 0) {
    --plain_tail_;
  }
  settings_.on_ready_for_query(status);
  tracker_.on_ready_for_query(status);
}

void ClientSessionState::server_lost() {
  requests_.clear();
  plain_tail_ = 0;
  batch_.clear();
  batch_tracked_ = false;
  portals_.clear();
  // An open transaction is gone: what it changed is undone, as at a ROLLBACK.
  settings_.on_statement(sql::ClassifiedStatement{}, false);
  settings_.on_ready_for_query('I');
  tracker_.backend_lost();
  resets_.clear();
}

std::vector<std::string> ClientSessionState::take_resets() { return std::exchange(resets_, {}); }

bool ClientSessionState::take_changed() { return std::exchange(changed_, false); }

}  // namespace ouroboros::session
