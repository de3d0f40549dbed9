#pragma once
// YAML -> Config. Every problem is reported with file, line, column and key; loading collects all
// problems it can find rather than stopping at the first.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace ouroboros::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string key; // dotted path, e.g. "databases.appdb.port"
  std::string message;
  std::string to_string() const;  // "file:line:column: key: message"
};

struct LoadResult {
  std::optional<Config> config;      // set when there are no errors
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;  // e.g. plain-text passwords
};

// Looks up environment variables; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_environment();

LoadResult parse_config(std::string_view yaml_text, std::string_view file_name, const EnvLookup& env);
LoadResult load_config_file(const std::string& path, const EnvLookup& env);

// "250ms", "5s", "1m", "2h", "1500us" (rounded up to ms); nullopt if malformed.
std::optional<Duration> parse_duration(std::string_view text);
// "64MB", "512kB", "1GB", "100" (bytes); units are powers of 1024; nullopt if malformed.
std::optional<std::size_t> parse_size(std::string_view text);

}  // namespace ouroboros::config
