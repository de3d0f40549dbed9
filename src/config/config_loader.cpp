// The configuration schema: which keys exist where, their types, defaults and cross-checks.
#include "config/config_loader.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

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
const std::initializer_list<std::pair<std::string_view, SessionStatePolicy>> kSessionStates = {
    {"pin", SessionStatePolicy::Pin}, {"refuse", SessionStatePolicy::Refuse}};
const std::initializer_list<std::pair<std::string_view, AuthType>> kAuthTypes = {
    {"scram-sha-256", AuthType::ScramSha256}, {"md5", AuthType::Md5}, {"trust", AuthType::Trust}};
const std::initializer_list<std::pair<std::string_view, ClientTlsMode>> kClientTlsModes = {
    {"disable", ClientTlsMode::Disable}, {"allow", ClientTlsMode::Allow}, {"require", ClientTlsMode::Require}};
const std::initializer_list<std::pair<std::string_view, ClientCertificate>> kClientCertificates = {
    {"none", ClientCertificate::None},
    {"optional", ClientCertificate::Optional},
    {"required", ClientCertificate::Required}};
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
  ConfigBuilder(YamlReader& reader, Config& config, std::string file_name,
                std::vector<ConfigError>& file_errors)
      : reader_(reader),
        config_(config),
        file_name_(std::move(file_name)),
        file_errors_(file_errors) {}

  void build(const YamlEntry& root) {
    const YamlFields top = reader_.fields(
        root, {"listen", "auth", "pool", "databases", "logging", "limits", "timeouts", "metrics", "admin", "retry",
               "query_stats"});
    if (const YamlEntry* entry = get(top, "listen")) listen(*entry);
    if (const YamlEntry* entry = get(top, "auth")) auth(*entry);
    if (const YamlEntry* entry = get(top, "pool")) pool(*entry, config_.pool, true);
    if (const YamlEntry* entry = get(top, "databases")) {
      databases(*entry);
    } else {
      reader_.error(root.key_mark, "databases",
                    "missing required section 'databases' (list at least one database, or \"*\")");
    }
    if (const YamlEntry* entry = get(top, "logging")) logging(*entry);
    if (const YamlEntry* entry = get(top, "limits")) limits(*entry);
    if (const YamlEntry* entry = get(top, "timeouts")) timeouts(*entry);
    if (const YamlEntry* entry = get(top, "metrics")) metrics(*entry);
    if (const YamlEntry* entry = get(top, "admin")) admin(*entry);
    if (const YamlEntry* entry = get(top, "retry")) retry(*entry);
    if (const YamlEntry* entry = get(top, "query_stats")) {
      const YamlFields fields = reader_.fields(*entry, {"max_fingerprints"});
      if (const YamlEntry* e = get(fields, "max_fingerprints"))
        assign(config_.query_stats.max_fingerprints, reader_.positive_count(*e));
    }
  }

 private:
  void listen(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"host", "port", "unix_socket_dir", "tls"});
    if (const YamlEntry* e = get(fields, "host"))
      assign(config_.listen.host, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "port"))
      assign(config_.listen.port, reader_.port(*e, true));
    if (const YamlEntry* e = get(fields, "unix_socket_dir")) {
      assign(config_.listen.unix_socket_dir, reader_.non_empty_text(*e));
      if (!config_.listen.unix_socket_dir.empty() && config_.listen.unix_socket_dir[0] != '/')
        reader_.error(*e, "unix_socket_dir must be an absolute path");
    }
    if (const YamlEntry* e = get(fields, "tls")) listen_tls(*e);
  }

  void listen_tls(const YamlEntry& section) {
    ListenTlsConfig& tls = config_.listen.tls;
    const YamlFields fields =
        reader_.fields(section, {"mode", "cert_file", "key_file", "ca_file", "client_certificate"});
    if (const YamlEntry* e = get(fields, "mode")) assign(tls.mode, reader_.choice(*e, kClientTlsModes));
    if (const YamlEntry* e = get(fields, "cert_file")) assign(tls.cert_file, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "key_file")) assign(tls.key_file, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "ca_file")) assign(tls.ca_file, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "client_certificate"))
      assign(tls.client_certificate, reader_.choice(*e, kClientCertificates));
    if (tls.mode == ClientTlsMode::Disable) {
      if (tls.client_certificate != ClientCertificate::None)
        reader_.error(*get(fields, "client_certificate"),
                      "client certificates need TLS: listen.tls.mode is disable");
      return;
    }
    const YamlEntry* mode = get(fields, "mode");
    if (tls.cert_file.empty() && !get(fields, "cert_file"))
      reader_.error(*mode, "listen.tls.mode is not disable: listen.tls.cert_file is required");
    if (tls.key_file.empty() && !get(fields, "key_file"))
      reader_.error(*mode, "listen.tls.mode is not disable: listen.tls.key_file is required");
    if (tls.client_certificate != ClientCertificate::None && tls.ca_file.empty() && !get(fields, "ca_file"))
      reader_.error(*get(fields, "client_certificate"),
                    "listen.tls.ca_file is required to verify client certificates");
  }

  void server_tls(const YamlEntry& section, ServerTlsConfig& tls) {
    const YamlFields fields =
        reader_.fields(section, {"mode", "ca_file", "cert_file", "key_file", "server_name"});
    if (const YamlEntry* e = get(fields, "mode")) assign(tls.mode, reader_.choice(*e, kServerTlsModes));
    if (const YamlEntry* e = get(fields, "ca_file")) assign(tls.ca_file, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "cert_file")) assign(tls.cert_file, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "key_file")) assign(tls.key_file, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "server_name")) assign(tls.server_name, reader_.non_empty_text(*e));
    const YamlEntry* cert = get(fields, "cert_file");
    const YamlEntry* key = get(fields, "key_file");
    if (cert && !key) reader_.error(*cert, "a client certificate needs its key_file too");
    if (key && !cert) reader_.error(*key, "key_file needs its cert_file too");
  }

  void auth(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"type", "users", "hba_file", "query"});
    if (const YamlEntry* e = get(fields, "type"))
      assign(config_.auth.type, reader_.choice(*e, kAuthTypes));
    if (config_.auth.type == AuthType::Trust) {
      reader_.warning(*get(fields, "type"),
                      "auth.type is trust: clients are let in without any password check");
    }
    if (const YamlEntry* e = get(fields, "users")) {
      for (const YamlEntry& user : reader_.entries(*e)) add_user(user);
    }
    if (const YamlEntry* e = get(fields, "hba_file")) hba_file(*e);
    if (const YamlEntry* e = get(fields, "query")) auth_query(*e);
  }

  void auth_query(const YamlEntry& section) {
    AuthQueryConfig query;
    const YamlFields fields =
        reader_.fields(section, {"user", "password", "database", "sql", "cache_ttl"});
    if (const YamlEntry* e = get(fields, "user")) {
      assign(query.user, reader_.non_empty_text(*e));
    } else {
      reader_.error(section.key_mark, join_key(section.path, "user"),
                    "auth.query needs a user to run the query as");
    }
    if (const YamlEntry* e = get(fields, "password")) {
      bool from_env = false;
      if (auto text = reader_.text(*e, &from_env)) {
        query.password = std::move(*text);
        check_server_password(*e, query.password, from_env);
      }
    }
    if (const YamlEntry* e = get(fields, "database")) query.database = reader_.non_empty_text(*e);
    if (const YamlEntry* e = get(fields, "sql")) {
      assign(query.sql, reader_.non_empty_text(*e));
      if (query.sql.find("$1") == std::string::npos)
        reader_.error(*e, "auth.query.sql must use $1 for the user name");
    }
    if (const YamlEntry* e = get(fields, "cache_ttl"))
      assign(query.cache_ttl, reader_.duration_or_zero(*e, "no caching"));
    config_.auth.query = std::move(query);
  }

  // Reads and parses the host-based rules; their errors carry the hba file's own line numbers.
  void hba_file(const YamlEntry& entry) {
    auto written = reader_.non_empty_text(entry);
    if (!written) return;
    config_.auth.hba_file = *written;
    std::filesystem::path path(*written);
    if (path.is_relative() && !file_name_.empty())
      path = std::filesystem::path(file_name_).parent_path() / path;
    std::error_code ec;
    std::ifstream in(path, std::ios::binary);
    if (std::filesystem::is_directory(path, ec) || !in) {
      reader_.error(entry, "cannot read the hba file " + path.string() + ": " +
                               (std::filesystem::is_directory(path, ec) ? "it is a directory"
                                                                        : std::strerror(errno)));
      return;
    }
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    HbaParseResult parsed = parse_hba(text, path.string());
    for (const HbaError& error : parsed.errors)
      file_errors_.push_back(ConfigError{path.string(), error.line, 0, entry.path, error.message});
    config_.auth.hba = std::move(parsed.rules);
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

  // Overlays the keys present in `section` onto `settings` (nested backoff key by key too).
  // `top_level`: the `pool:` defaults; otherwise a database's overrides.
  void pool(const YamlEntry& section, PoolSettings& settings, bool top_level) {
    const YamlFields fields = reader_.fields(
        section, {"mode", "size", "min_size", "reserve_size", "reserve_timeout",
                  "max_db_connections", "max_client_connections", "server_idle_timeout",
                  "server_lifetime", "server_check_delay", "query_wait_timeout", "query_timeout",
                  "idle_transaction_timeout", "client_idle_timeout", "fail_fast", "backoff",
                  "max_prepared_statements", "session_state"});
    if (const YamlEntry* e = get(fields, "mode"))
      assign(settings.mode, reader_.choice(*e, kPoolModes));
    if (const YamlEntry* e = get(fields, "size")) assign(settings.size, reader_.positive_count(*e));
    if (const YamlEntry* e = get(fields, "min_size")) assign(settings.min_size, reader_.count(*e));
    if (const YamlEntry* e = get(fields, "reserve_size"))
      assign(settings.reserve_size, reader_.count(*e));
    if (const YamlEntry* e = get(fields, "reserve_timeout"))
      assign(settings.reserve_timeout, reader_.positive_duration(*e));
    if (const YamlEntry* e = get(fields, "max_db_connections"))
      assign(settings.max_db_connections, reader_.count(*e));
    if (const YamlEntry* e = get(fields, "max_client_connections"))
      assign(settings.max_client_connections, reader_.count(*e));

    const std::pair<const char*, Duration PoolSettings::*> disableable[] = {
        {"server_idle_timeout", &PoolSettings::server_idle_timeout},
        {"server_lifetime", &PoolSettings::server_lifetime},
        {"server_check_delay", &PoolSettings::server_check_delay},
        {"query_wait_timeout", &PoolSettings::query_wait_timeout},
        {"query_timeout", &PoolSettings::query_timeout},
        {"idle_transaction_timeout", &PoolSettings::idle_transaction_timeout},
        {"client_idle_timeout", &PoolSettings::client_idle_timeout}};
    for (const auto& [name, member] : disableable) {
      if (const YamlEntry* e = get(fields, name))
        assign(settings.*member, reader_.duration_or_zero(*e, zero_meaning(name)));
    }
    if (const YamlEntry* e = get(fields, "fail_fast"))
      assign(settings.fail_fast, reader_.boolean(*e));
    if (const YamlEntry* e = get(fields, "max_prepared_statements"))
      assign(settings.max_prepared_statements, reader_.count(*e));
    if (const YamlEntry* e = get(fields, "session_state"))
      assign(settings.session_state, reader_.choice(*e, kSessionStates));
    if (const YamlEntry* e = get(fields, "backoff")) backoff(*e, settings.backoff, top_level);

    // Checked on the merged values, reported only where this block wrote one of the two keys
    // (a violation inherited whole was already reported at the top level).
    if (settings.min_size > settings.size) {
      const YamlEntry* min_size = get(fields, "min_size");
      const YamlEntry* size = get(fields, "size");
      const std::string sizes = "min_size (" + std::to_string(settings.min_size) +
                                ") must not exceed size (" + std::to_string(settings.size) + ")";
      if (min_size != nullptr) {
        reader_.error(*min_size, sizes + origin(size, top_level, "size"));
      } else if (size != nullptr) {
        reader_.error(*size, sizes + origin(min_size, top_level, "min_size"));
      }
    }
  }

  static std::string_view zero_meaning(std::string_view key) {
    if (key == "server_idle_timeout" || key == "server_lifetime") return "never";
    if (key == "server_check_delay") return "always check";
    if (key == "query_wait_timeout") return "wait forever";
    return "off";
  }

  // Where the other key of a cross-check came from when this block does not write it.
  static std::string origin(const YamlEntry* written, bool top_level, const std::string& key) {
    if (written != nullptr) return "";
    return top_level ? " (" + key + " is the default)" : " (" + key + " from the top-level pool)";
  }

  void backoff(const YamlEntry& section, BackoffSettings& settings, bool top_level) {
    const YamlFields fields = reader_.fields(section, {"initial", "max", "multiplier", "jitter"});
    const YamlEntry* initial = get(fields, "initial");
    const YamlEntry* max = get(fields, "max");
    if (initial != nullptr) assign(settings.initial, reader_.positive_duration(*initial));
    if (max != nullptr) assign(settings.max, reader_.positive_duration(*max));
    if (const YamlEntry* e = get(fields, "multiplier")) {
      assign(settings.multiplier,
             reader_.number(*e, 1.0, std::numeric_limits<double>::max(),
                            "at least 1 (1 = the same delay every time)"));
    }
    if (const YamlEntry* e = get(fields, "jitter"))
      assign(settings.jitter, reader_.number(*e, 0.0, 1.0, "between 0 and 1"));

    if (settings.max < settings.initial) {
      const std::string message = "backoff.max (" + format_duration(settings.max) +
                                  ") must not be less than backoff.initial (" +
                                  format_duration(settings.initial) + ")";
      if (max != nullptr) {
        reader_.error(*max, message + origin(initial, top_level, "initial"));
      } else if (initial != nullptr) {
        reader_.error(*initial, message + origin(max, top_level, "max"));
      }
    }
  }

  // The largest unit that writes `d` exactly: 100ms, 10s, 5m, 2h, 1d.
  static std::string format_duration(Duration d) {
    const std::pair<long long, const char*> units[] = {
        {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
    const long long ms = d.count();
    for (const auto& [size, name] : units) {
      if (ms != 0 && ms % size == 0) return std::to_string(ms / size) + name;
    }
    return std::to_string(ms) + "ms";
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
        reader_.fields(entry, {"host", "port", "dbname", "user", "password", "pool", "tls"});
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
    if (const YamlEntry* e = get(fields, "pool")) pool(*e, db.pool, false);
    if (const YamlEntry* e = get(fields, "tls")) server_tls(*e, db.tls);
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
    const YamlFields fields =
        reader_.fields(section, {"level", "format", "log_literals", "slow_query_threshold"});
    if (const YamlEntry* e = get(fields, "level")) {
      if (auto level = reader_.choice(*e, kLogLevels)) config_.logging.level = std::string(*level);
    }
    if (const YamlEntry* e = get(fields, "format"))
      assign(config_.logging.format, reader_.choice(*e, kLogFormats));
    if (const YamlEntry* e = get(fields, "log_literals")) assign(config_.logging.log_literals, reader_.boolean(*e));
    if (const YamlEntry* e = get(fields, "slow_query_threshold"))
      assign(config_.logging.slow_query_threshold, reader_.duration_or_zero(*e, "the slow-query log is off"));
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

  void retry(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"enabled", "max_attempts", "sqlstates", "backoff"});
    RetryConfig& retry = config_.retry;
    if (const YamlEntry* e = get(fields, "enabled")) assign(retry.enabled, reader_.boolean(*e));
    if (const YamlEntry* e = get(fields, "max_attempts")) assign(retry.max_attempts, reader_.positive_count(*e));
    if (const YamlEntry* e = get(fields, "sqlstates")) {
      if (auto codes = reader_.string_list(*e)) {
        for (const auto& code : *codes) {
          bool valid = code.size() == 5 && std::all_of(code.begin(), code.end(), [](unsigned char c) {
                         return std::isdigit(c) || std::isupper(c);
                       });
          if (!valid) reader_.error(*e, "'" + code + "' is not a SQLSTATE (five digits or capital letters)");
        }
        retry.sqlstates = std::move(*codes);
      }
    }
    if (const YamlEntry* e = get(fields, "backoff")) backoff(*e, retry.backoff, true);
  }

  void metrics(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"host", "port"});
    if (const YamlEntry* e = get(fields, "host")) assign(config_.metrics.host, reader_.non_empty_text(*e));
    if (const YamlEntry* e = get(fields, "port")) assign(config_.metrics.port, reader_.port(*e, true));
  }

  void admin(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(section, {"users", "stats_users"});
    for (const char* key : {"users", "stats_users"}) {
      const YamlEntry* e = get(fields, key);
      if (!e) continue;
      auto names = reader_.string_list(*e);
      if (!names) continue;
      // Admins log in like any user: they must exist in auth.users (unless auth is trust).
      for (const auto& name : *names) {
        if (config_.auth.type != AuthType::Trust && !config_.auth.users.count(name))
          reader_.error(*e, "admin user '" + name + "' is not in auth.users, so it could never log in");
      }
      (std::string(key) == "users" ? config_.admin.users : config_.admin.stats_users) = std::move(*names);
    }
  }

  void timeouts(const YamlEntry& section) {
    const YamlFields fields = reader_.fields(
        section, {"client_login_timeout", "server_connect_timeout", "shutdown_timeout"});
    TimeoutsConfig& timeouts = config_.timeouts;
    if (const YamlEntry* e = get(fields, "client_login_timeout"))
      assign(timeouts.client_login_timeout, reader_.positive_duration(*e));
    if (const YamlEntry* e = get(fields, "server_connect_timeout"))
      assign(timeouts.server_connect_timeout, reader_.positive_duration(*e));
    if (const YamlEntry* e = get(fields, "shutdown_timeout"))
      assign(timeouts.shutdown_timeout, reader_.duration_or_zero(*e, "close at once"));
  }

  YamlReader& reader_;
  Config& config_;
  std::string file_name_;
  std::vector<ConfigError>& file_errors_;  // problems in files the configuration names
};

// Where the second YAML document of `text` starts, if there is one. yaml-cpp 0.7's LoadAll()
// never returns on some malformed streams (a stray ',' at the top level makes it append null
// documents forever, jbeder/yaml-cpp#1040), so the documents are counted with the event parser,
// reading at most two.
class DocumentStarts final : public YAML::EventHandler {
 public:
  // Per document: where its first node is (where it starts, for a document without one).
  std::vector<YAML::Mark> marks;
  void OnDocumentStart(const YAML::Mark& mark) override {
    marks.push_back(mark);
    node_seen_ = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

 private:
  void node(const YAML::Mark& mark) {
    if (!node_seen_ && !marks.empty()) marks.back() = mark;
    node_seen_ = true;
  }
  bool node_seen_ = false;
};

std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  for (int i = 0; i < 2 && parser.HandleNextDocument(starts); ++i) {
  }
  if (starts.marks.size() < 2) return std::nullopt;
  return starts.marks[1];
}

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
  std::vector<ConfigError> file_errors;
  try {
    const std::string text(yaml_text);
    YAML::Node root = YAML::Load(text);  // the first document; never LoadAll (see above)
    if (const auto second = second_document(text)) {
      reader.error(*second, "", "the file holds more than one YAML document");
    }
    const YAML::Mark start =
        root.IsDefined() && !root.IsNull() ? root.Mark() : YAML::Mark::null_mark();
    ConfigBuilder(reader, config, std::string(file_name), file_errors)
        .build(YamlEntry{"", "", start, root});
  } catch (const YAML::Exception& e) {
    // Syntax errors (and anything else yaml-cpp throws) end the load: the tree is unusable.
    reader.error(e.mark, "", "YAML syntax error: " + e.msg);
  }
  sort_by_position(result.errors);
  result.errors.insert(result.errors.end(), file_errors.begin(), file_errors.end());
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
