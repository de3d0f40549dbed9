#include "session/sql_prepared_statements.h"

#include <algorithm>
#include <utility>

#include "pool/startup_parameters.h"

namespace ouroboros::session {

namespace {

using K = sql::SessionEffectKind;

// Sets the search_path until the batch's Sync ends its implicit transaction, when the client's
// own value comes back. (SET LOCAL would warn outside a transaction block.)
std::string search_path_sql(const std::optional<std::string>& search_path) {
  if (!search_path)
    return "SELECT pg_catalog.set_config('search_path', reset_val, true) FROM "
           "pg_catalog.pg_settings "
           "WHERE name = 'search_path'";
  return "SELECT pg_catalog.set_config('search_path', " + pool::quote_literal(*search_path) +
         ", true)";
}

}  // namespace

std::string quote_sql_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

void ClientSqlStatements::on_statement(const sql::ClassifiedStatement& statement, bool succeeded,
                                       const std::optional<std::string>& search_path) {
  if (!succeeded) return;
  for (const sql::SessionEffect& effect : statement.effects) {
    switch (effect.kind) {
      case K::Prepare:
        statements_[effect.name] = SqlStatement{effect.value, search_path};
        ++version_;
        break;
      case K::Deallocate:
        if (statements_.erase(effect.name) != 0) ++version_;
        break;
      case K::DeallocateAll:
      case K::DiscardAll:
        if (!statements_.empty()) ++version_;
        statements_.clear();
        break;
      default:
        break;
    }
  }
}

void ClientSqlStatements::forget(const std::string& name) {
  if (statements_.erase(name) != 0) ++version_;
}

std::vector<std::string> ServerSqlStatements::begin_sync(
    Owner owner, std::uint64_t version, const SqlStatementMap& statements,
    const std::optional<std::string>& search_path_now) {
  if (statements.empty() && sync_without_statements(owner, version)) return {};
  pending_.reset();
  if (owner != 0 && owner_ == owner && version_ == version) return {};  // it holds them already
  Pending pending{owner, version, {}};
  // Names the client lacks, or has with another text (or another search_path), go first.
  for (const auto& [name, held] : statements_) {
    auto wanted = statements.find(name);
    if (wanted != statements.end() && wanted->second == held) continue;
    pending.steps.push_back(
        {"DEALLOCATE " + quote_sql_identifier(name), Step::Kind::Deallocate, name, {}});
  }
  std::optional<std::string> search_path = search_path_now;
  for (const auto& [name, statement] : statements) {
    auto held = statements_.find(name);
    if (held != statements_.end() && held->second == statement) continue;
    if (statement.search_path != search_path) {
      search_path = statement.search_path;
      pending.steps.push_back({search_path_sql(search_path), Step::Kind::Setting, "", {}});
    }
    pending.steps.push_back({statement.text, Step::Kind::Prepare, name, statement});
  }
  if (pending.steps.empty()) {
    // The same statements under the same names (another client of the same application).
    owner_ = owner;
    version_ = version;
    return {};
  }
  std::vector<std::string> sql;
  for (const Step& step : pending.steps) sql.push_back(step.sql);
  pending_ = std::move(pending);
  return sql;
}

ServerSqlStatements::SyncResult ServerSqlStatements::finish_sync(bool ok, std::size_t completed) {
  using Result = SyncResult::Kind;
  if (!pending_) return {Result::None, ""};
  Pending pending = std::move(*pending_);
  pending_.reset();
  const std::size_t ran = ok ? pending.steps.size() : std::min(pending.steps.size(), completed);
  for (std::size_t i = 0; i < ran; ++i) apply(pending.steps[i]);
  if (ran == pending.steps.size()) {
    owner_ = pending.owner;
    version_ = pending.version;
    return {ok ? Result::Done : Result::NotReached, ""};
  }
  // Part of the way: the content says what the server holds, no client's version does.
  owner_ = 0;
  version_ = 0;
  const Step& failed = pending.steps[ran];
  if (failed.kind == Step::Kind::Deallocate) return {Result::DeallocateFailed, failed.name};
  // A failed search_path step belongs to the PREPARE after it.
  for (std::size_t i = ran; i < pending.steps.size(); ++i) {
    if (pending.steps[i].kind == Step::Kind::Prepare)
      return {Result::PrepareFailed, pending.steps[i].name};
  }
  return {Result::NotReached, ""};
}

void ServerSqlStatements::apply(const Step& step) {
  if (step.kind == Step::Kind::Deallocate) statements_.erase(step.name);
  if (step.kind == Step::Kind::Prepare) statements_[step.name] = step.statement;
}

void ServerSqlStatements::now_holds(Owner owner, const ClientSqlStatements& client) {
  if (owner_ == owner && version_ == client.version()) return;
  statements_ = client.statements();
  owner_ = owner;
  version_ = client.version();
}

void ServerSqlStatements::clear() {
  statements_.clear();
  owner_ = 0;
  version_ = 0;
}

}  // namespace ouroboros::session
