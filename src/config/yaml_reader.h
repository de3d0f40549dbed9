#pragma once
// Reads yaml-cpp nodes into typed values, collecting every problem as a ConfigError with the
// node's position and dotted key (internal to ouro_config; the only header that sees yaml-cpp).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_loader.h"

namespace ouroboros::config {

// One key: value pair of a mapping (or the document root, with an empty name and path).
struct YamlEntry {
  std::string name;     // the key as written
  std::string path;     // dotted key path, e.g. "databases.appdb.port"
  YAML::Mark key_mark;  // where the key is; used when the value is empty
  YAML::Node value;
};

using YamlFields = std::map<std::string, YamlEntry>;  // a mapping's known keys, by name

class YamlReader {
 public:
  YamlReader(std::string file, EnvLookup env, LoadResult& result);

  void error(const YAML::Mark& at, std::string key, std::string message);
  void error(const YamlEntry& at, std::string message);  // at the value, or the key if empty
  void error_at_key(const YamlEntry& at, std::string message);
  void warning(const YamlEntry& at, std::string message);

  // The entries of a mapping in document order. An empty value gives no entries; anything else
  // that is not a mapping, non-scalar keys and duplicate keys are reported.
  std::vector<YamlEntry> entries(const YamlEntry& section);
  // entries() limited to `allowed` keys; others are reported, with the closest valid key.
  YamlFields fields(const YamlEntry& section, std::initializer_list<std::string_view> allowed);

  // Typed scalars (after ${ENV} substitution). Each reports its own problem and returns nullopt.
  std::optional<std::string> text(const YamlEntry& entry, bool* used_environment = nullptr);
  std::optional<std::string> non_empty_text(const YamlEntry& entry);
  std::optional<std::uint16_t> port(const YamlEntry& entry, bool allow_zero);
  std::optional<std::size_t> count(const YamlEntry& entry);  // a whole number, 0 allowed
  std::optional<std::size_t> positive_count(const YamlEntry& entry);
  std::optional<std::size_t> positive_size(const YamlEntry& entry);
  std::optional<Duration> positive_duration(const YamlEntry& entry);
  // A duration that may be 0 (written `0`, `0s`, `0ms`, ...) to switch something off;
  // `zero_means` completes the sentence "0 means ..." in messages.
  std::optional<Duration> duration_or_zero(const YamlEntry& entry, std::string_view zero_means);
  std::optional<bool> boolean(const YamlEntry& entry);  // true or false (True, TRUE, ...)
  // A sequence of non-empty strings, e.g. [a, b] (each item after ${ENV} substitution).
  std::optional<std::vector<std::string>> string_list(const YamlEntry& entry);
  // A decimal number in [min, max] such as 2, 1.5 or 0.25 (no exponent, inf or nan).
  std::optional<double> number(const YamlEntry& entry, double min, double max,
                               std::string_view range_text);

  template <typename Enum>
  std::optional<Enum> choice(const YamlEntry& entry,
                             std::initializer_list<std::pair<std::string_view, Enum>> choices) {
    const std::optional<std::string> written = text(entry);
    if (!written) return std::nullopt;
    std::string valid;
    for (const auto& [name, value] : choices) {
      if (*written == name) return value;
      valid += (valid.empty() ? "" : ", ") + std::string(name);
    }
    error(entry, "unknown value '" + *written + "'; valid values are: " + valid);
    return std::nullopt;
  }

 private:
  std::optional<Duration> duration(const YamlEntry& entry, std::string_view zero_means);

  std::string file_;
  EnvLookup env_;
  LoadResult& result_;
};

// Child key path: "parent.name", with names that contain '.' (or are empty) quoted.
std::string join_key(const std::string& parent, const std::string& name);
// Optimal-string-alignment edit distance (a swap of two neighbours counts as one edit).
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace ouroboros::config
