#pragma once
// Helpers shared by the configuration tests.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "config/config_loader.h"

namespace ouroboros::config::test {

// An EnvLookup backed by a fixed map.
inline EnvLookup fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

inline LoadResult parse(const std::string& yaml, std::map<std::string, std::string> vars = {}) {
  return parse_config(yaml, "test.yaml", fake_env(std::move(vars)));
}

// The smallest valid configuration with `extra` appended as more top-level keys.
inline std::string minimal(const std::string& extra = "") {
  return "databases:\n  appdb: { host: db.local }\n" + extra;
}

inline std::string all_errors(const LoadResult& result) {
  std::string text;
  for (const ConfigError& e : result.errors) text += e.to_string() + "\n";
  return text;
}

// The error at `key`, or a failed check listing every error.
inline const ConfigError* error_for(const LoadResult& result, const std::string& key) {
  for (const ConfigError& e : result.errors) {
    if (e.key == key) return &e;
  }
  FAIL_CHECK("no error for key '" << key << "'; errors:\n" << all_errors(result));
  return nullptr;
}

// Checks there is an error at `key`, line:column, whose message contains `text`.
inline void check_error(const LoadResult& result, const std::string& key, int line, int column,
                        const std::string& text) {
  CHECK_FALSE(result.config.has_value());
  const ConfigError* e = error_for(result, key);
  if (e == nullptr) return;
  INFO(e->to_string());
  CHECK(e->file == "test.yaml");
  CHECK(e->line == line);
  CHECK(e->column == column);
  CHECK(e->message.find(text) != std::string::npos);
}

inline bool has_warning(const LoadResult& result, const std::string& text) {
  for (const std::string& w : result.warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace ouroboros::config::test
