#include "config/env_substitution.h"

#include <cctype>

namespace ouroboros::config {
namespace {

bool is_valid_name(std::string_view name) {
  if (name.empty()) return false;
  if (std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

Substitution substitute_environment(std::string_view text, const EnvLookup& env) {
  Substitution result;
  result.value.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size() || (text[i + 1] != '$' && text[i + 1] != '{')) {
      result.value += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      result.value += '$';
      i += 2;
      continue;
    }
    // "${" ... "}"
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      result.error = "unterminated '${' (write '$$' for a literal '$')";
      return result;
    }
    result.used_environment = true;
    const std::string_view inner = text.substr(i + 2, close - (i + 2));
    const std::size_t separator = inner.find(":-");
    const std::string_view name = inner.substr(0, separator);
    if (!is_valid_name(name)) {
      result.error = "invalid environment variable reference '${" + std::string(inner) +
                     "}' (names are letters, digits and '_')";
      return result;
    }
    std::optional<std::string> value = env ? env(std::string(name)) : std::nullopt;
    if (separator != std::string_view::npos) {
      if (!value || value->empty()) value = std::string(inner.substr(separator + 2));
    } else if (!value) {
      result.error = "environment variable '" + std::string(name) +
                     "' is not set (give it a value or write ${" + std::string(name) +
                     ":-default})";
      return result;
    }
    result.value += *value;
    i = close + 1;
  }
  return result;
}

}  // namespace ouroboros::config
