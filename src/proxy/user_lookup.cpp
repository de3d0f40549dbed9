#include "proxy/user_lookup.h"

#include <openssl/x509.h>

namespace ouroboros::proxy {

void UserLookup::lookup(const config::AuthQueryConfig& query, const config::DatabaseConfig& db,
                        Duration timeout, const std::string& user, pool::ClientId client) {
  std::string dbname = query.database.value_or(db.dbname);
  std::string key = db.host + '\0' + std::to_string(db.port) + '\0' + dbname + '\0' + query.user +
                    '\0' + query.sql + '\0' + user;
  cache_.set_ttl(query.cache_ttl);
  if (auto cached = cache_.find(key, loop_.now())) {
    counts_.cached.inc();
    UserLookupResult result;
    result.user = *cached;
    loop_.defer([this, client, result] { deliver_(client, result); });
    return;
  }
  auto it = running_.find(key);
  if (it != running_.end()) {
    it->second.waiting.push_back(client);
    return;
  }
  auth::Conninfo conninfo = auth::lookup_conninfo(query, db, dbname, X509_get_default_cert_file());
  Duration ttl = query.cache_ttl;
  auto runner = std::make_unique<io::LibpqQuery>(
      loop_, std::move(conninfo), auth::wrapped_auth_query(query.sql),
      std::vector<std::string>{user}, timeout,
      [this, key, user, ttl](io::LibpqQuery::Result result) {
        done(key, user, ttl, std::move(result));
      });
  io::LibpqQuery& ref = *runner;
  running_[key] = Running{std::move(runner), {client}};
  log_.debug("auth_query: looking up user \"{}\" in {}:{}/{}", user, db.host, db.port, dbname);
  ref.start();
}

void UserLookup::done(const std::string& key, const std::string& user, Duration ttl,
                      io::LibpqQuery::Result result) {
  auto it = running_.find(key);
  if (it == running_.end()) return;
  Running running = std::move(it->second);
  running_.erase(it);
  // The query object's callback is on the stack: destroy it on the next loop turn.
  auto* query = running.query.release();
  loop_.defer([query] { delete query; });

  UserLookupResult outcome;
  if (result.error.empty()) {
    std::string error;
    if (auto looked_up = auth::interpret_lookup(result.rows, result.columns, error)) {
      outcome.user = std::move(*looked_up);
      cache_.set_ttl(ttl);
      cache_.store(key, outcome.user, loop_.now());
    } else {
      outcome.error = error;
    }
  } else {
    outcome.error = result.error;
  }
  (outcome.error.empty() ? counts_.answered : counts_.failed).inc();
  if (!outcome.error.empty())
    log_.error("auth_query for user \"{}\" failed: {}", user, outcome.error);
  for (pool::ClientId client : running.waiting) deliver_(client, outcome);
}

}  // namespace ouroboros::proxy
