#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "config/env_substitution.h"

namespace ouroboros::config {
namespace {

int one_based(int zero_based) {
  return zero_based < 0 ? 0 : zero_based + 1;
}

const char* describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "nothing";
  }
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
  });
}

// A non-negative decimal integer with nothing else around it.
std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  if (!all_digits(text)) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string join_key(const std::string& parent, const std::string& name) {
  const std::string part =
      name.empty() || name.find('.') != std::string::npos ? '"' + name + '"' : name;
  return parent.empty() ? part : parent + '.' + part;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

YamlReader::YamlReader(std::string file, EnvLookup env, LoadResult& result)
    : file_(std::move(file)), env_(std::move(env)), result_(result) {}

void YamlReader::error(const YAML::Mark& at, std::string key, std::string message) {
  result_.errors.push_back(ConfigError{file_, one_based(at.line), one_based(at.column),
                                       std::move(key), std::move(message)});
}

void YamlReader::error(const YamlEntry& at, std::string message) {
  if (!at.value.IsDefined() || at.value.IsNull()) return error_at_key(at, std::move(message));
  error(at.value.Mark(), at.path, std::move(message));
}

void YamlReader::error_at_key(const YamlEntry& at, std::string message) {
  error(at.key_mark, at.path, std::move(message));
}

void YamlReader::warning(const YamlEntry& at, std::string message) {
  const YAML::Mark mark =
      at.value.IsDefined() && !at.value.IsNull() ? at.value.Mark() : at.key_mark;
  result_.warnings.push_back(
      ConfigError{file_, one_based(mark.line), one_based(mark.column), at.path, std::move(message)}
          .to_string());
}

std::vector<YamlEntry> YamlReader::entries(const YamlEntry& section) {
  std::vector<YamlEntry> found;
  if (!section.value.IsDefined() || section.value.IsNull()) return found;
  if (!section.value.IsMap()) {
    error(section,
          std::string("expected a mapping (key: value lines), got ") + describe(section.value));
    return found;
  }
  std::set<std::string> seen;
  for (const auto& pair : section.value) {  // by value: yaml-cpp iterators hand out temporaries
    const YAML::Node key = pair.first;
    if (!key.IsScalar()) {
      error(key.Mark(), section.path,
            std::string("a key must be a plain name, got ") + describe(key));
      continue;
    }
    YamlEntry entry{key.Scalar(), join_key(section.path, key.Scalar()), key.Mark(), pair.second};
    if (!seen.insert(entry.name).second) {
      error_at_key(entry, "duplicate key '" + entry.name + "'");
      continue;
    }
    found.push_back(std::move(entry));
  }
  return found;
}

YamlFields YamlReader::fields(const YamlEntry& section,
                              std::initializer_list<std::string_view> allowed) {
  YamlFields known;
  for (YamlEntry& entry : entries(section)) {
    if (std::find(allowed.begin(), allowed.end(), entry.name) != allowed.end()) {
      std::string name = entry.name;
      known.emplace(std::move(name), std::move(entry));
      continue;
    }
    std::string_view closest;
    std::size_t best = 3;  // suggest only within two edits
    std::string valid;
    for (std::string_view candidate : allowed) {
      // The distance is at least the difference in length: a long unknown key (a fuzzer's, or
      // a value pasted as a key) costs no quadratic comparison with every valid one.
      const std::size_t length_gap = entry.name.size() > candidate.size() ? entry.name.size() - candidate.size()
                                                                          : candidate.size() - entry.name.size();
      const std::size_t distance = length_gap < best ? edit_distance(entry.name, candidate) : best;
      if (distance < best) best = distance, closest = candidate;
      valid += (valid.empty() ? "" : ", ") + std::string(candidate);
    }
    std::string message = "unknown key '" + entry.name + "'";
    if (!closest.empty()) {
      message += "; did you mean '" + std::string(closest) + "'?";
    } else {
      message += "; valid keys here are: " + valid;
    }
    error_at_key(entry, std::move(message));
  }
  return known;
}

std::optional<std::string> YamlReader::text(const YamlEntry& entry, bool* used_environment) {
  if (!entry.value.IsScalar()) {
    error(entry, std::string("expected a single value, got ") + describe(entry.value));
    return std::nullopt;
  }
  Substitution substituted = substitute_environment(entry.value.Scalar(), env_);
  if (substituted.error) {
    error(entry, *substituted.error);
    return std::nullopt;
  }
  if (used_environment != nullptr) *used_environment = substituted.used_environment;
  return std::move(substituted.value);
}

std::optional<std::string> YamlReader::non_empty_text(const YamlEntry& entry) {
  std::optional<std::string> value = text(entry);
  if (value && value->empty()) {
    error(entry, "must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint16_t> YamlReader::port(const YamlEntry& entry, bool allow_zero) {
  const std::optional<std::string> written = text(entry);
  if (!written) return std::nullopt;
  const std::string range = allow_zero ? "0..65535 (0 = any free port)" : "1..65535";
  const std::optional<std::uint64_t> value = parse_unsigned(*written);
  if (!value) {
    error(entry, "expected a port number " + range + ", got '" + *written + "'");
    return std::nullopt;
  }
  if (*value > 65535 || (*value == 0 && !allow_zero)) {
    error(entry, "port " + *written + " is out of range " + range);
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(*value);
}

std::optional<std::size_t> YamlReader::count(const YamlEntry& entry) {
  const std::optional<std::string> written = text(entry);
  if (!written) return std::nullopt;
  const std::optional<std::uint64_t> value = parse_unsigned(*written);
  if (!value || *value > std::numeric_limits<std::size_t>::max()) {
    error(entry, "expected a whole number, got '" + *written + "'");
    return std::nullopt;
  }
  return static_cast<std::size_t>(*value);
}

std::optional<std::size_t> YamlReader::positive_count(const YamlEntry& entry) {
  const std::optional<std::size_t> value = count(entry);
  if (value && *value == 0) {
    error(entry, "must be at least 1");
    return std::nullopt;
  }
  return value;
}

std::optional<std::size_t> YamlReader::positive_size(const YamlEntry& entry) {
  const std::optional<std::string> written = text(entry);
  if (!written) return std::nullopt;
  const std::optional<std::size_t> value = parse_size(*written);
  if (!value) {
    error(entry, "invalid size '" + *written +
                     "'; expected a byte count or a number with a unit: B, kB, MB, GB, TB "
                     "(e.g. 512kB, 64MB)");
    return std::nullopt;
  }
  if (*value == 0) {
    error(entry, "must be greater than zero");
    return std::nullopt;
  }
  return value;
}

std::optional<Duration> YamlReader::positive_duration(const YamlEntry& entry) {
  return duration(entry, {});
}

std::optional<Duration> YamlReader::duration_or_zero(const YamlEntry& entry,
                                                     std::string_view zero_means) {
  return duration(entry, zero_means.empty() ? "disabled" : zero_means);
}

// `zero_means` empty: the duration must be greater than zero.
std::optional<Duration> YamlReader::duration(const YamlEntry& entry, std::string_view zero_means) {
  const std::optional<std::string> written = text(entry);
  if (!written) return std::nullopt;
  const std::optional<std::uint64_t> bare = parse_unsigned(*written);
  if (bare && *bare == 0) {  // a bare 0 needs no unit
    if (!zero_means.empty()) return Duration::zero();
    error(entry, "must be greater than zero");
    return std::nullopt;
  }
  const std::optional<Duration> value = parse_duration(*written);
  if (!value) {
    const std::string zero_hint =
        zero_means.empty() ? "" : "; 0 alone means " + std::string(zero_means);
    if (all_digits(*written)) {
      error(entry, "'" + *written + "' has no unit; units are required (e.g. " + *written +
                       "s or " + *written + "ms; us, ms, s, m, h, d)" + zero_hint);
    } else {
      error(entry, "invalid duration '" + *written +
                       "'; expected a whole number with a unit: us, ms, s, m, h, d (e.g. 250ms, "
                       "5s)" +
                       zero_hint);
    }
    return std::nullopt;
  }
  if (value->count() <= 0 && zero_means.empty()) {
    error(entry, "must be greater than zero");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlReader::boolean(const YamlEntry& entry) {
  const std::optional<std::string> written = text(entry);
  if (!written) return std::nullopt;
  // YAML 1.2 core schema spellings only: yes/no/on/off/1/0 are too easy to misread.
  for (std::string_view yes : {"true", "True", "TRUE"}) {
    if (*written == yes) return true;
  }
  for (std::string_view no : {"false", "False", "FALSE"}) {
    if (*written == no) return false;
  }
  error(entry, "expected true or false, got '" + *written + "'");
  return std::nullopt;
}

std::optional<double> YamlReader::number(const YamlEntry& entry, double min, double max,
                                         std::string_view range_text) {
  const std::optional<std::string> written = text(entry);
  if (!written) return std::nullopt;
  // [-]digits[.digits] or [-].digits: what a person writes, nothing from_chars would add.
  std::string_view rest = *written;
  if (!rest.empty() && rest.front() == '-') rest.remove_prefix(1);
  const std::size_t dot = rest.find('.');
  const std::string_view whole = rest.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  const bool well_formed = (dot == std::string_view::npos)
                               ? all_digits(whole)
                               : (whole.empty() || all_digits(whole)) && all_digits(fraction);
  double value = 0;
  if (well_formed) {
    const char* begin = written->data();
    const char* end = begin + written->size();
    auto [stop, ec] = std::from_chars(begin, end, value, std::chars_format::fixed);
    if (ec != std::errc() || stop != end) value = std::numeric_limits<double>::quiet_NaN();
  }
  if (!well_formed || !std::isfinite(value)) {
    error(entry, "expected a number such as 2 or 0.5, got '" + *written + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(entry, "must be " + std::string(range_text) + ", got " + *written);
    return std::nullopt;
  }
  return value;
}

}  // namespace ouroboros::config

namespace ouroboros::config {

std::optional<std::vector<std::string>> YamlReader::string_list(const YamlEntry& entry) {
  if (!entry.value.IsSequence()) {
    error(entry, "expected a list of names, e.g. [alice, bob]");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < entry.value.size(); ++i) {
    YamlEntry item{entry.name, entry.path + "[" + std::to_string(i) + "]", entry.value[i].Mark(), entry.value[i]};
    auto value = non_empty_text(item);
    if (value) out.push_back(std::move(*value));
    else ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace ouroboros::config
