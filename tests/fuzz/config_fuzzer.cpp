// libFuzzer target for the YAML configuration loader (parse_config), the scalar parsers it
// uses (${ENV} substitution, durations, sizes, password formats) and the host-based rules file
// (parse_hba, match_hba). Loading never throws; a result has a config exactly when it has no
// errors, and every error says where and what.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "config/config_loader.h"
#include "config/env_substitution.h"
#include "config/hba_rules.h"
#include "config/password_format.h"
#include "fuzz_support.h"

using namespace ouroboros;
using namespace ouroboros::config;
using fuzz::require;

namespace {

const EnvLookup& environment() {
  static const EnvLookup lookup = [](const std::string& name) -> std::optional<std::string> {
    static const std::map<std::string, std::string> variables = {
        {"PGPASSWORD", "secret"}, {"PORT", "6432"}, {"EMPTY", ""}, {"HOST", "127.0.0.1"}};
    const auto it = variables.find(name);
    if (it == variables.end()) return std::nullopt;
    return it->second;
  };
  return lookup;
}

void check_scalars(std::string_view text) {
  (void)parse_duration(text);
  (void)parse_size(text);
  (void)check_password_format(text);
  const Substitution substituted = substitute_environment(text, environment());
  if (text.find('$') == std::string_view::npos) {
    require(!substituted.error && substituted.value == text && !substituted.used_environment);
  }
}

// The same bytes as an hba file: every error has a line, every rule matches or not without a
// crash, and a match is one of the file's rules.
void check_hba(std::string_view text) {
  const HbaParseResult parsed = parse_hba(text, "fuzz.conf");
  for (const HbaError& error : parsed.errors) require(error.line >= 1 && !error.message.empty());
  ConnectionFacts local;
  local.is_unix = true;
  ConnectionFacts v4;
  v4.peer_ip = "127.0.0.1";
  ConnectionFacts v6;
  v6.peer_ip = "::1";
  v6.is_tls = true;
  v6.client_cert_cn = "app";
  for (const ConnectionFacts& facts : {local, v4, v6}) {
    for (const char* name : {"app", "all", "postgres"}) {
      const HbaRule* rule = match_hba(parsed.rules, facts, name, "app");
      require(rule == nullptr ||
              (rule >= parsed.rules.rules.data() && rule < parsed.rules.rules.data() + parsed.rules.rules.size()));
      (void)hba_reject_message(facts, name, "app");
      (void)cert_accepts(facts, name);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  check_scalars(text);
  check_hba(text);
  const LoadResult result = parse_config(text, "fuzz.yaml", environment());
  require(result.config.has_value() == result.errors.empty());
  for (const ConfigError& error : result.errors) {
    // auth.hba_file may name a file: its errors carry that file's name.
    require((error.file == "fuzz.yaml" || error.key == "auth.hba_file") && !error.message.empty());
    require(error.line >= 0 && error.column >= 0);
    (void)error.to_string();
  }
  return 0;
}
