#pragma once
// auth_query on one loop: looks up users that are not in auth.users in PostgreSQL, one libpq
// connection per lookup (concurrent logins of the same user share it), answers cached for
// auth.query.cache_ttl. Results reach the waiting clients through `deliver`, never inside lookup().
#include <spdlog/logger.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/auth_query.h"
#include "config/config.h"
#include "io/event_loop.h"
#include "io/libpq_query.h"
#include "metrics/counter.h"
#include "pool/cancel_registry.h"

namespace ouroboros::proxy {

struct UserLookupResult {
  std::string error;  // the lookup itself failed (connection, SQL); empty otherwise
  auth::LookedUpUser user;
  std::string note;  // added to the log line of a refusal
};

class UserLookup {
 public:
  using Deliver = std::function<void(pool::ClientId, const UserLookupResult&)>;
  UserLookup(io::EventLoop& loop, spdlog::logger& log, Deliver deliver)
      : loop_(loop), log_(log), deliver_(std::move(deliver)) {}

  // Looks `user` up for `client` on the server of `db`, as auth.query says.
  void lookup(const config::AuthQueryConfig& query, const config::DatabaseConfig& db,
              Duration timeout, const std::string& user, pool::ClientId client);
  std::size_t cached() const { return cache_.size(); }

  // For ouroboros_auth_query_lookups_total: logins answered from the cache, queries PostgreSQL
  // answered (the user found or not), queries that failed (the client got 08006).
  struct Counts {
    metrics::Counter cached, answered, failed;
  };
  const Counts& counts() const { return counts_; }

 private:
  struct Running {
    std::unique_ptr<io::LibpqQuery> query;
    std::vector<pool::ClientId> waiting;
  };
  void done(const std::string& key, const std::string& user, Duration ttl,
            io::LibpqQuery::Result result);

  io::EventLoop& loop_;
  spdlog::logger& log_;
  Deliver deliver_;
  auth::LookupCache cache_{std::chrono::seconds(60)};
  std::map<std::string, Running> running_;  // by cache key
  Counts counts_;
};

}  // namespace ouroboros::proxy
