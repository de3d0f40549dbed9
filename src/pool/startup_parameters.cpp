#include "pool/startup_parameters.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

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

// Lower-cased name -> value (of a name sent twice, the first). An index rather than a scan per
// name: a start-up packet may carry thousands of parameters, and comparing two such lists name by
// name would cost millions of steps per login.
using ParameterIndex = std::unordered_map<std::string, const std::string*>;
ParameterIndex index_by_name(const StartupParameters& params) {
  ParameterIndex index;
  index.reserve(params.size());
  for (const auto& [k, v] : params) index.emplace(lower(k), &v);
  return index;
}

const std::string* find(const ParameterIndex& index, const std::string& lower_name) {
  const auto it = index.find(lower_name);
  return it == index.end() ? nullptr : it->second;
}
}  // namespace

bool is_connection_parameter(const std::string& name) {
  std::string n = lower(name);
  return n == "user" || n == "database" || n == "replication";
}

StartupParameters session_parameters(const std::vector<std::pair<std::string, std::string>>& client) {
  // PostgreSQL applies the parameters in order, so of a name sent twice the last value counts;
  // keeping only that one (where it stands) lets every later step look names up once.
  std::unordered_map<std::string, std::size_t> last;  // lower-cased name -> position in client
  last.reserve(client.size());
  for (std::size_t i = 0; i < client.size(); ++i)
    if (!is_connection_parameter(client[i].first)) last[lower(client[i].first)] = i;
  StartupParameters out;
  out.reserve(last.size());
  for (std::size_t i = 0; i < client.size(); ++i) {
    const auto it = last.find(lower(client[i].first));
    if (it != last.end() && it->second == i) out.push_back(client[i]);
  }
  return out;
}

std::string parameters_key(const StartupParameters& params) {
  StartupParameters sorted;
  for (const auto& [k, v] : params) sorted.emplace_back(lower(k), v);
  std::sort(sorted.begin(), sorted.end());
  // Length-prefixed, so no name or value can imitate a separator.
  std::string key;
  for (const auto& [k, v] : sorted) {
    key += std::to_string(k.size()) + ':' + k + std::to_string(v.size()) + ':' + v;
  }
  return key;
}

std::string lower_name(const std::string& name) { return lower(name); }

// set_config() parses the value as a configuration file would, so list settings such as
// search_path keep their elements (SET x TO 'a,b' would make one quoted name of it).
std::string set_config_call(const std::string& name, const std::string& value) {
  return "pg_catalog.set_config(" + quote_literal(name) + ", " + quote_literal(value) + ", false)";
}

std::optional<Settings> parse_options(const std::string& options) {
  Settings out;
  std::vector<std::string> words;
  std::string word;
  bool escaped = false;
  // libpq's options are split on spaces; a backslash escapes the next character.
  for (char c : options) {
    if (escaped) {
      word += c;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ' ' || c == '\t') {
      if (!word.empty()) words.push_back(std::move(word)), word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    if (words[i] == "-c" && i + 1 < words.size()) {
      setting = words[++i];
    } else if (words[i].rfind("-c", 0) == 0 && words[i].size() > 2) {
      setting = words[i].substr(2);
    } else if (words[i].rfind("--", 0) == 0) {
      setting = words[i].substr(2);
    } else {
      return std::nullopt;
    }
    auto eq = setting.find('=');
    if (eq == std::string::npos || eq == 0) return std::nullopt;
    std::string name = lower(setting.substr(0, eq));
    std::replace(name.begin(), name.end(), '-', '_');
    if (!is_setting_name(name)) return std::nullopt;
    out[name] = setting.substr(eq + 1);
  }
  return out;
}

Settings startup_settings(const StartupParameters& params) {
  Settings out;
  // PostgreSQL applies `options` first; explicit parameters win over it wherever they stand.
  for (const auto& [k, v] : params) {
    if (lower(k) != "options") continue;
    if (auto parsed = parse_options(v))
      for (auto& [pk, pv] : *parsed) out[pk] = pv;
  }
  for (const auto& [k, v] : params) {
    std::string name = lower(k);
    if (name != "options" && is_setting_name(name)) out[name] = v;
  }
  return out;
}

bool is_read_only_parameter(const std::string& name) {
  return name == "server_version" || name == "server_encoding" || name == "integer_datetimes" ||
         name == "is_superuser" || name == "session_authorization" || name == "in_hot_standby" ||
         name == "scram_iterations";
}

std::string transaction_sync_sql(const Settings& current, const Settings& applied, const Settings& desired) {
  std::string sets;
  for (const auto& [name, value] : desired) {
    if (is_read_only_parameter(name) || !is_setting_name(name)) continue;
    auto it = current.find(name);
    if (it != current.end() && it->second == value) continue;
    sets += (sets.empty() ? "" : ", ") + set_config_call(name, value);
  }
  std::string sql = sets.empty() ? "" : "SELECT " + sets + ";";
  for (const auto& [name, value] : applied) {
    (void)value;
    if (!desired.count(name) && is_setting_name(name)) sql += "RESET " + name + ";";
  }
  return sql;
}

std::string quote_literal(const std::string& value) {
  // E'' reads the same whatever standard_conforming_strings is (a client may have turned it off).
  bool escape = value.find('\\') != std::string::npos;
  std::string out = escape ? "E'" : "'";
  for (char c : value) {
    if (c == '\'' || (escape && c == '\\')) out += c;
    out += c;
  }
  out += '\'';
  return out;
}

std::optional<std::string> sync_sql(const StartupParameters& server, const StartupParameters& client) {
  const ParameterIndex server_index = index_by_name(server);
  const ParameterIndex client_index = index_by_name(client);
  const std::string* server_options = find(server_index, "options");
  const std::string* client_options = find(client_index, "options");
  if ((server_options ? *server_options : "") != (client_options ? *client_options : ""))
    return std::nullopt;
  for (const auto& [name, value] : server_index) {
    (void)value;
    if (!find(client_index, name)) return std::nullopt;
  }
  std::string sql;
  for (const auto& [k, v] : client) {
    const std::string name = lower(k);
    if (name == "options") continue;
    const std::string* current = find(server_index, name);
    if (current && *current == v) continue;
    if (!is_setting_name(k)) return std::nullopt;
    sql += (sql.empty() ? "" : ", ") + set_config_call(name, v);
  }
  return sql.empty() ? sql : "SELECT " + sql;
}

}  // namespace ouroboros::pool
