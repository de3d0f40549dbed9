#pragma once
// auth_query without I/O: the SQL sent to PostgreSQL, what its answer means for a login, and the
// cache of answers (cache_ttl). The lookup connection itself is io::LibpqQuery.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "config/config.h"

namespace ouroboros::auth {

using Row = std::vector<std::optional<std::string>>;  // nullopt = NULL

// auth.query.sql (one parameter, $1 = the user name; three columns: name, secret, valid until)
// inside a query that returns the expiry as seconds since the epoch, so the proxy can check it at
// every login, on its own clock, even from the cache.
std::string wrapped_auth_query(std::string_view sql);

enum class LookupStatus { Found, NoSuchUser, NullPassword, Expired };

struct LookedUpUser {
  LookupStatus status = LookupStatus::NoSuchUser;
  std::string secret;                       // Found: "SCRAM-SHA-256$...", "md5..." or plain
  std::optional<double> valid_until_epoch;  // unset: no VALID UNTIL
  // The status at `now_epoch` (seconds since 1970): a Found user whose VALID UNTIL passed is
  // Expired.
  LookupStatus status_at(double now_epoch) const;
};

// The answer of the wrapped query; nullopt (with `error`) when it has not three columns.
std::optional<LookedUpUser> interpret_lookup(const std::vector<Row>& rows, std::size_t columns,
                                             std::string& error);

// libpq keyword/value pairs of the lookup connection: the database's host and port, the lookup's
// user, and the database's TLS settings (databases.<name>.tls) in libpq's terms, so the lookup,
// which sends auth.query.password, is as protected as the pool's own server connections.
// `server_name` becomes libpq's host (SNI and the name verify-full checks) with the database's
// host as hostaddr; an empty ca_file means `system_ca_file` (OpenSSL's default bundle) for the
// verify modes, as on the server leg. io::LibpqQuery resolves a host name given as hostaddr.
using Conninfo = std::vector<std::pair<std::string, std::string>>;
Conninfo lookup_conninfo(const config::AuthQueryConfig& query, const config::DatabaseConfig& db,
                         const std::string& dbname, const std::string& system_ca_file);

// For the log only: the client is told "password authentication failed" whatever it was.
std::string_view describe(LookupStatus status);

// Answers by key (server, database and user) for cache_ttl; refusals are cached too, so a known
// and an unknown user cost the same. A zero ttl caches nothing.
class LookupCache {
 public:
  explicit LookupCache(Duration ttl, std::size_t max_entries = 10000)
      : ttl_(ttl), max_entries_(max_entries) {}
  void set_ttl(Duration ttl) { ttl_ = ttl; }
  std::optional<LookedUpUser> find(const std::string& key, TimePoint now) const;
  void store(const std::string& key, LookedUpUser user, TimePoint now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    LookedUpUser user;
    TimePoint stored;
  };
  Duration ttl_;
  std::size_t max_entries_;
  std::map<std::string, Entry> entries_;
};

}  // namespace ouroboros::auth
