#include "session/session_settings.h"

#include <utility>

#include "pool/settings_interner.h"

namespace ouroboros::session {

namespace {

using K = sql::SessionEffectKind;

// "a.b" as "a"."b": always quoted, so no setting name can be read as SQL.
std::string quoted_setting_name(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '.') {
      out += "\".\"";
    } else {
      if (c == '"') out += '"';
      out += c;
    }
  }
  return out + '"';
}

}  // namespace

SessionSettings::SessionSettings(const pool::StartupParameters& startup)
    : SessionSettings(pool::startup_settings(startup)) {}

SessionSettings::SessionSettings(Values startup_settings)
    : startup_(std::move(startup_settings)), scope_(State{startup_, {}}) {
  refresh_version();
}

void SessionSettings::on_statement(const sql::ClassifiedStatement& statement, bool succeeded) {
  scope_.on_statement(statement, succeeded, [this](const sql::SessionEffect& effect) { apply(effect); });
  refresh_version();
}

void SessionSettings::on_ready_for_query(char status) {
  scope_.ready_for_query(status);
  refresh_version();
}

void SessionSettings::apply(const sql::SessionEffect& effect) {
  State& state = scope_.current();
  switch (effect.kind) {
    case K::Set:
      set(effect.name, effect.value);
      return;
    case K::SetLocal:
      // Outside a block this lasts until the implicit transaction ends, which ReadyForQuery
      // reports: the same rule.
      state.local[effect.name] = effect.value;
      return;
    case K::Reset:
      reset(effect.name);
      return;
    case K::ResetAll:
    case K::DiscardAll:
      state.session = startup_;
      state.local.clear();
      return;
    case K::SetUnknown:
      // A local value ends with the transaction, during which the client keeps its server:
      // nothing to read back.
      if (effect.value != "local")
        pending_readback_.insert(effect.name.empty() ? "*" : effect.name);
      return;
    default:
      return;
  }
}

void SessionSettings::set(const std::string& name, const std::string& value) {
  State& state = scope_.current();
  state.session[name] = value;
  state.local.erase(name);  // a later SET SESSION replaces a SET LOCAL of the same transaction
}

void SessionSettings::reset(const std::string& name) {
  State& state = scope_.current();
  if (auto it = startup_.find(name); it != startup_.end()) {
    state.session[name] = it->second;
  } else {
    state.session.erase(name);
  }
  state.local.erase(name);
}

void SessionSettings::learned(const std::string& name, const std::string& value) {
  const std::string lower = pool::lower_name(name);
  set(lower, value);
  pending_readback_.erase(lower);
  refresh_version();
}

SessionSettings::Values SessionSettings::expected() const {
  Values out = scope_.current().session;
  for (const auto& [name, value] : scope_.current().local) out[name] = value;
  return out;
}

std::optional<std::string> SessionSettings::value(std::string_view name) const {
  const std::string lower = pool::lower_name(std::string(name));
  const State& state = scope_.current();
  if (auto it = state.local.find(lower); it != state.local.end()) return it->second;
  if (auto it = state.session.find(lower); it != state.session.end()) return it->second;
  return std::nullopt;
}

void SessionSettings::refresh_version() {
  version_ = pool::settings_hash(expected());  // the hash the pool's settings interner uses
}

std::string SessionSettings::diff(const Values& server) const {
  Values current;
  for (const auto& [name, value] : server) current[pool::lower_name(name)] = value;
  const Values wanted = expected();
  std::string sets;
  for (const auto& [name, value] : wanted) {
    if (pool::is_read_only_parameter(name)) continue;
    if (auto it = current.find(name); it != current.end() && it->second == value) continue;
    sets += sets.empty() ? "SELECT " : ", ";
    sets += pool::set_config_call(name, value);
  }
  std::string sql = sets.empty() ? "" : sets + ";";
  for (const auto& [name, value] : current) {
    (void)value;
    if (pool::is_read_only_parameter(name) || wanted.count(name) != 0) continue;
    sql += (sql.empty() ? "" : " ") + std::string("RESET ") + quoted_setting_name(name) + ";";
  }
  return sql;
}

}  // namespace ouroboros::session
