#include "config/config.h"

#include <cstdlib>

#include "config/config_loader.h"

namespace ouroboros::config {

const std::initializer_list<std::pair<std::string_view, ServerTlsMode>> kServerTlsModes = {
    {"disable", ServerTlsMode::Disable}, {"allow", ServerTlsMode::Allow},
    {"prefer", ServerTlsMode::Prefer},   {"require", ServerTlsMode::Require},
    {"verify-ca", ServerTlsMode::VerifyCa}, {"verify-full", ServerTlsMode::VerifyFull}};

std::string_view sslmode_name(ServerTlsMode mode) {
  for (const auto& [name, value] : kServerTlsModes)
    if (value == mode) return name;
  return "disable";
}

std::optional<DatabaseConfig> Config::find_database(const std::string& name) const {
  if (auto exact = databases.find(name); exact != databases.end()) return exact->second;
  auto wildcard = databases.find("*");
  if (wildcard == databases.end()) return std::nullopt;
  DatabaseConfig found = wildcard->second;
  found.name = name;
  if (found.dbname.empty()) found.dbname = name;
  return found;
}

std::string ConfigError::to_string() const {
  std::string text = file.empty() ? std::string("<config>") : file;
  if (line > 0) {
    text += ':' + std::to_string(line);
    if (column > 0) text += ':' + std::to_string(column);
  }
  text += ": ";
  if (!key.empty()) text += key + ": ";
  text += message;
  return text;
}

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace ouroboros::config
