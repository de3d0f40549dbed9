#include "pool/login_parameters.h"

namespace ouroboros::pool {

void LoginParameters::learn(const std::map<std::string, std::string>& reported,
                            const StartupParameters& startup) {
  Settings asked = startup_settings(startup);
  for (const auto& [name, value] : reported) {
    bool from_startup = asked.count(lower_name(name)) > 0;
    Entry* entry = nullptr;
    for (auto& e : entries_)
      if (e.name == name) entry = &e;
    if (!entry) {
      entries_.push_back({name, value, from_startup});
    } else if (!from_startup || entry->from_startup) {
      // A default beats a value some client asked for; otherwise the newest report wins
      // (PostgreSQL's defaults change when its configuration is reloaded).
      entry->value = value;
      entry->from_startup = from_startup;
    }
  }
}

std::vector<std::pair<std::string, std::string>> LoginParameters::for_client(const Settings& client) const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    std::string lower = lower_name(e.name);
    auto own = client.find(lower);
    if (own != client.end() && !is_read_only_parameter(lower)) {
      out.emplace_back(e.name, own->second);
    } else if (e.from_startup && lower == "application_name") {
      out.emplace_back(e.name, "");  // another client's name; PostgreSQL's default is empty
    } else {
      out.emplace_back(e.name, e.value);
    }
  }
  return out;
}

}  // namespace ouroboros::pool
