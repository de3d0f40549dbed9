#include "pool/startup_parameters.h"

#include <algorithm>
#include <cctype>

namespace ouroboros::pool {

namespace {
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_setting_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.';
  });
}

const std::string* find(const StartupParameters& params, const std::string& name) {
  std::string want = lower(name);
  for (const auto& [k, v] : params)
    if (lower(k) == want) return &v;
  return nullptr;
}
}  // namespace

bool is_connection_parameter(const std::string& name) {
  std::string n = lower(name);
  return n == "user" || n == "database" || n == "replication";
}

StartupParameters session_parameters(const std::vector<std::pair<std::string, std::string>>& client) {
  StartupParameters out;
  for (const auto& [k, v] : client)
    if (!is_connection_parameter(k)) out.emplace_back(k, v);
  return out;
}

std::string parameters_key(const StartupParameters& params) {
  StartupParameters sorted;
  for (const auto& [k, v] : params) sorted.emplace_back(lower(k), v);
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& [k, v] : sorted) {
    key += k;
    key += '\x1f';
    key += v;
    key += '\x1e';
  }
  return key;
}

std::string quote_literal(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::optional<std::string> sync_sql(const StartupParameters& server, const StartupParameters& client) {
  const std::string* server_options = find(server, "options");
  const std::string* client_options = find(client, "options");
  if ((server_options ? *server_options : "") != (client_options ? *client_options : ""))
    return std::nullopt;
  for (const auto& [k, v] : server) {
    (void)v;
    if (!find(client, k)) return std::nullopt;
  }
  std::string sql;
  for (const auto& [k, v] : client) {
    if (lower(k) == "options") continue;
    const std::string* current = find(server, k);
    if (current && *current == v) continue;
    if (!is_setting_name(k)) return std::nullopt;
    sql += "SET \"" + k + "\" TO " + quote_literal(v) + ";";
  }
  return sql;
}

}  // namespace ouroboros::pool
