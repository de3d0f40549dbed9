#pragma once
// What a pool's servers reported at login (ParameterStatus), kept so a client's login can be
// completed without a server: the client gets these values, with its own startup settings in
// place of the ones it chose, and a server is assigned only at its first request.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "pool/startup_parameters.h"

namespace ouroboros::pool {

class LoginParameters {
 public:
  // A server of the pool logged in. `startup` is what the proxy opened it with: values it set
  // there (a session client's application_name, say) are not PostgreSQL's defaults and are
  // kept only until a server opened without them reports the default.
  void learn(const std::map<std::string, std::string>& reported, const StartupParameters& startup);
  bool empty() const { return entries_.empty(); }
  // The ParameterStatus set for a client with these startup settings (lower-case names), in
  // the server's spelling of the names.
  std::vector<std::pair<std::string, std::string>> for_client(const Settings& client) const;

 private:
  struct Entry {
    std::string name;  // as the server spells it (DateStyle, TimeZone, ...)
    std::string value;
    bool from_startup;  // the server reported what the proxy's startup packet asked for
  };
  std::vector<Entry> entries_;
};

}  // namespace ouroboros::pool
