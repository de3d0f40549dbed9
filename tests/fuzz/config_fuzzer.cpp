// libFuzzer target for the YAML configuration loader (parse_config) and the scalar parsers it
// uses (${ENV} substitution, durations, sizes, password formats). Loading never throws; a result
// has a config exactly when it has no errors, and every error says where and what.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "config/config_loader.h"
#include "config/env_substitution.h"
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  check_scalars(text);
  const LoadResult result = parse_config(text, "fuzz.yaml", environment());
  require(result.config.has_value() == result.errors.empty());
  for (const ConfigError& error : result.errors) {
    require(error.file == "fuzz.yaml" && !error.message.empty());
    require(error.line >= 0 && error.column >= 0);
    (void)error.to_string();
  }
  return 0;
}
