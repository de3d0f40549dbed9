// The configuration schema: which keys exist where, their types, defaults and cross-checks.
#include "config/config_loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "config/password_format.h"
#include "config/yaml_reader.h"

namespace ouroboros::config {
namespace {

constexpr std::string_view kReservedDatabase = "ouroboros";
constexpr std::string_view kWildcardDatabase = "*";

const std::initializer_list<std::pair<std::string_view, PoolMode>> kPoolModes = {
    {"session", PoolMode::Session},
    {"transaction", PoolMode::Transaction},
    {"statement", PoolMode::Statement}};
const std::initializer_list<std::pair<std::string_view, AuthType>> kAuthTypes = {
    {"scram-sha-256", AuthType::ScramSha256}, {"md5", AuthType::Md5}, {"trust", AuthType::Trust}};
const std::initializer_list<std::pair<std::string_view, LogFormat>> kLogFormats = {
    {"text", LogFormat::Text}, {"json", LogFormat::Json}};
const std::initializer_list<std::pair<std::string_view, std::string_view>> kLogLevels = {
    {"trace", "trace"}, {"debug", "debug"},       {"info", "info"}, {"warn", "warn"},
    {"error", "error"}, {"critical", "critical"}, {"off", "off"}};

const YamlEntry* get(const YamlFields& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() ? nullptr : &it->second;
}

// Assigns `value` to `target` when the reader produced one.
template <typename T, typename U>
void assign(T& target, std::optional<U> value) {
  if (value) target = std::move(*value);
}

class ConfigBuilder {
 public:
  ConfigBuilder(YamlReader& reader, Config& config) : reader_(reader), config_(config) {}

  void build(const YamlEntry& root) {
    const YamlFields top = reader_.fields(
        root, {"listen", "auth", "pool", "databases", "logging", "limits", "timeouts"});
    if (const YamlEntry* entry = get(top, "listen")) listen(*entry);
    if (const YamlEntry* entry = get(top, "auth")) auth(*entry);
    if (const YamlEntry* entry = get(top, "pool")) pool(*entry, config_.pool);
    if (const YamlEntry* entry = get(top, "databases")) {
      databases(*entry);
    } else {
      reader_.error(root.key_mark, "databases",
                    "missing required section 'databases' (list at least one database, or \"*\")");
    }
    if (const YamlEntry* entry = get(top, "logging")) logging(*entry);
    if (const YamlEntry* entry = get(top, "limits")) limits(*entry);
    if (const YamlEntry* entry = get(top, "timeouts")) timeouts(*entry);
  }

 private:
  void listen(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"host", "port"});
    if (const YamlEntry* e = get(fields, "host"))
      assign(config_.listen.host, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "port"))
      assign(config_.listen.port, reader_.port(*e, true));
  }

  void auth(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"type", "users"});
    if (const YamlEntry* e = get(fields, "type"))
      assign(config_.auth.type, reader_.choice(*e, kAuthTypes));
    if (config_.auth.type == AuthType::Trust) {
      reader_.warning(*get(fields, "type"),
                      "auth.type is trust: clients are let in without any password check");
    }
    if (const YamlEntry* e = get(fields, "users")) {
      for (const YamlEntry& user : reader_.entries(*e)) add_user(user);
    }
  }

  void add_user(const YamlEntry& entry) {
    UserConfig user;
    user.name = entry.name;
    if (user.name.empty()) reader_.error_at_key(entry, "a user name must not be empty");
    const YamlFields fields = reader_.fields(entry, {"password", "pool_mode"});
    if (const YamlEntry* e = get(fields, "pool_mode"))
      user.pool_mode = reader_.choice(*e, kPoolModes);

    const bool needs_password = config_.auth.type != AuthType::Trust;
    const YamlEntry* password = get(fields, "password");
    if (password == nullptr) {
      if (needs_password) {
        reader_.error(
            entry.key_mark, join_key(entry.path, "password"),
            "user '" + user.name + "' has no password (required unless auth.type is trust)");
      }
    } else if (bool from_env = false; auto text = reader_.text(*password, &from_env)) {
      user.password = std::move(*text);
      check_user_password(*password, user.password, from_env);
    }
    config_.auth.users[user.name] = std::move(user);
  }

  void check_user_password(const YamlEntry& entry, const std::string& password, bool from_env) {
    if (password.empty()) {
      if (config_.auth.type != AuthType::Trust) {
        reader_.error(entry, "password is empty (required unless auth.type is trust)");
      }
      return;
    }
    const PasswordCheck check = check_password_format(password);
    if (check.problem) {
      reader_.error(entry, *check.problem);
    } else if (check.format == PasswordFormat::Md5 && config_.auth.type == AuthType::ScramSha256) {
      reader_.error(entry,
                    "an md5 hash cannot check a scram-sha-256 login; give a SCRAM verifier or "
                    "the plain password, or set auth.type: md5");
    } else if (check.format == PasswordFormat::Plain && !from_env) {
      reader_.warning(entry,
                      "plain-text password in the configuration file; use a SCRAM verifier "
                      "(SCRAM-SHA-256$...) or ${ENV_VAR} substitution");
    }
  }

  // Overlays the keys present in `section` onto `settings`.
  void pool(const YamlEntry& section, PoolSettings& settings) {
    const YamlFields fields = reader_.fields(section, {"mode", "size"});
    if (const YamlEntry* e = get(fields, "mode"))
      assign(settings.mode, reader_.choice(*e, kPoolModes));
    if (const YamlEntry* e = get(fields, "size")) assign(settings.size, reader_.positive_count(*e));
  }

  void databases(const YamlEntry& section) {
    const std::vector<YamlEntry> entries = reader_.entries(section);
    if (entries.empty()) {
      if (!section.value.IsDefined() || section.value.IsNull() || section.value.IsMap())
        reader_.error(section, "no databases defined (list at least one database, or \"*\")");
      return;
    }
    for (const YamlEntry& entry : entries) add_database(entry);
  }

  void add_database(const YamlEntry& entry) {
    if (entry.name.empty()) {
      reader_.error_at_key(entry, "a database name must not be empty");
      return;
    }
    if (entry.name == kReservedDatabase) {
      reader_.error_at_key(entry,
                           "the database name 'ouroboros' is reserved for the admin "
                           "console; choose another name");
      return;
    }
    DatabaseConfig db;
    db.name = entry.name;
    db.pool = config_.pool;
    const YamlFields fields =
        reader_.fields(entry, {"host", "port", "dbname", "user", "password", "pool"});
    if (const YamlEntry* e = get(fields, "host")) {
      assign(db.host, reader_.non_empty_text(*e));
    } else {
      reader_.error(entry.key_mark, join_key(entry.path, "host"),
                    "database '" + db.name + "' has no host");
    }
    if (const YamlEntry* e = get(fields, "port")) assign(db.port, reader_.port(*e, false));
    if (const YamlEntry* e = get(fields, "dbname")) assign(db.dbname, reader_.text(*e));
    if (const YamlEntry* e = get(fields, "user")) db.user = reader_.non_empty_text(*e);
    if (const YamlEntry* e = get(fields, "password")) {
      bool from_env = false;
      db.password = reader_.text(*e, &from_env);
      if (db.password) check_server_password(*e, *db.password, from_env);
    }
    if (const YamlEntry* e = get(fields, "pool")) pool(*e, db.pool);
    if (db.dbname.empty() && db.name != kWildcardDatabase) db.dbname = db.name;
    config_.databases[db.name] = std::move(db);
  }

  // A password the proxy itself logs in with: plain text or an md5 hash, never a verifier.
  void check_server_password(const YamlEntry& entry, const std::string& password, bool from_env) {
    if (password.empty()) return;
    const PasswordCheck check = check_password_format(password);
    if (check.problem) {
      reader_.error(entry, *check.problem);
    } else if (check.format == PasswordFormat::ScramSha256) {
      reader_.error(entry,
                    "a SCRAM verifier cannot be used to log in to a server; give the "
                    "plain password (preferably via ${ENV_VAR})");
    } else if (check.format == PasswordFormat::Plain && !from_env) {
      reader_.warning(entry,
                      "plain-text password in the configuration file; use ${ENV_VAR} "
                      "substitution");
    }
  }

  void logging(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"level", "format"});
    if (const YamlEntry* e = get(fields, "level")) {
      if (auto level = reader_.choice(*e, kLogLevels)) config_.logging.level = std::string(*level);
    }
    if (const YamlEntry* e = get(fields, "format"))
      assign(config_.logging.format, reader_.choice(*e, kLogFormats));
  }

  void limits(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(
        section, {"max_message_size", "max_client_connections", "buffer_high_water"});
    LimitsConfig& limits = config_.limits;
    if (const YamlEntry* e = get(fields, "max_message_size"))
      assign(limits.max_message_size, reader_.positive_size(*e));
    if (const YamlEntry* e = get(fields, "max_client_connections"))
      assign(limits.max_client_connections, reader_.positive_count(*e));
    if (const YamlEntry* e = get(fields, "buffer_high_water"))
      assign(limits.buffer_high_water, reader_.positive_size(*e));
  }

  void timeouts(const YamlEntry& section) {
    const YamlFields fields =
        reader_.fields(section, {"client_login_timeout", "server_connect_timeout"});
    TimeoutsConfig& timeouts = config_.timeouts;
    if (const YamlEntry* e = get(fields, "client_login_timeout"))
      assign(timeouts.client_login_timeout, reader_.positive_duration(*e));
    if (const YamlEntry* e = get(fields, "server_connect_timeout"))
      assign(timeouts.server_connect_timeout, reader_.positive_duration(*e));
  }

  YamlReader& reader_;
  Config& config_;
};

void sort_by_position(std::vector<ConfigError>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
}

}  // namespace

LoadResult parse_config(std::string_view yaml_text, std::string_view file_name,
                        const EnvLookup& env) {
  LoadResult result;
  YamlReader reader(std::string(file_name), env, result);
  Config config;
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml_text));
    YAML::Node root = documents.empty() ? YAML::Node() : documents.front();
    if (documents.size() > 1) {
      reader.error(documents[1].Mark(), "", "the file holds more than one YAML document");
    }
    const YAML::Mark start =
        root.IsDefined() && !root.IsNull() ? root.Mark() : YAML::Mark::null_mark();
    ConfigBuilder(reader, config).build(YamlEntry{"", "", start, root});
  } catch (const YAML::Exception& e) {
    // Syntax errors (and anything else yaml-cpp throws) end the load: the tree is unusable.
    reader.error(e.mark, "", "YAML syntax error: " + e.msg);
  }
  sort_by_position(result.errors);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult load_config_file(const std::string& path, const EnvLookup& env) {
  auto unreadable = [&path](const std::string& why) {
    LoadResult result;
    result.errors.push_back(
        ConfigError{path, 0, 0, "", "cannot read the configuration file: " + why});
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return unreadable(std::strerror(errno));
  LoadResult result = parse_config(text, path, env);
  if (result.config) result.config->source_file = path;
  return result;
}

}  // namespace ouroboros::config
