#pragma once
// ${VAR} / ${VAR:-default} / $$ substitution in configuration scalars (internal to ouro_config).
#include <optional>
#include <string>
#include <string_view>

#include "config/config_loader.h"

namespace ouroboros::config {

struct Substitution {
  std::string value;                 // the text with every reference replaced
  bool used_environment = false;     // at least one ${...} reference was present
  std::optional<std::string> error;  // set when a reference is malformed or names an unset variable
};

// Replaces ${NAME} with the variable's value (error if unset), ${NAME:-default} with the value,
// or `default` when the variable is unset or empty, and $$ with a single $. Any other $ is kept
// as is (SCRAM verifiers contain them). Defaults are literal text up to the first '}'.
Substitution substitute_environment(std::string_view text, const EnvLookup& env);

}  // namespace ouroboros::config
