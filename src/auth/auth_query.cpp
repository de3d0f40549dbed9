#include "auth/auth_query.h"

#include <cstdlib>

namespace ouroboros::auth {

Conninfo lookup_conninfo(const config::AuthQueryConfig& query, const config::DatabaseConfig& db,
                         const std::string& dbname, const std::string& system_ca_file) {
  using Mode = config::ServerTlsMode;
  const config::ServerTlsConfig& tls = db.tls;
  const bool socket_directory = !db.host.empty() && db.host[0] == '/';
  Conninfo conninfo;
  if (!socket_directory && !tls.server_name.empty()) {
    conninfo.emplace_back("host", tls.server_name);
    conninfo.emplace_back("hostaddr", db.host);
  } else {
    conninfo.emplace_back("host", db.host);
  }
  conninfo.emplace_back("port", std::to_string(db.port));
  conninfo.emplace_back("dbname", dbname);
  conninfo.emplace_back("user", query.user);
  conninfo.emplace_back("application_name", "ouroboros auth_query");
  if (!query.password.empty()) conninfo.emplace_back("password", query.password);
  conninfo.emplace_back("sslmode", std::string(config::sslmode_name(tls.mode)));
  if (tls.mode == Mode::VerifyCa || tls.mode == Mode::VerifyFull)
    conninfo.emplace_back("sslrootcert", tls.ca_file.empty() ? system_ca_file : tls.ca_file);
  if (!tls.cert_file.empty()) {
    conninfo.emplace_back("sslcert", tls.cert_file);
    conninfo.emplace_back("sslkey", tls.key_file);
  }
  return conninfo;
}

std::string wrapped_auth_query(std::string_view sql) {
  while (!sql.empty() && (sql.back() == ';' || sql.back() == ' ' || sql.back() == '\n' ||
                          sql.back() == '\t' || sql.back() == '\r'))
    sql.remove_suffix(1);
  return "SELECT q.u::text, q.p::text, extract(epoch FROM q.v)::float8::text FROM (" +
         std::string(sql) + ") AS q(u, p, v)";
}

LookupStatus LookedUpUser::status_at(double now_epoch) const {
  if (status == LookupStatus::Found && valid_until_epoch && *valid_until_epoch <= now_epoch)
    return LookupStatus::Expired;
  return status;
}

std::optional<LookedUpUser> interpret_lookup(const std::vector<Row>& rows, std::size_t columns,
                                             std::string& error) {
  if (columns != 3) {
    error = "auth.query.sql must return three columns (user name, password, valid until), got " +
            std::to_string(columns);
    return std::nullopt;
  }
  LookedUpUser user;
  if (rows.empty()) return user;  // NoSuchUser
  const Row& row = rows.front();
  if (row.size() != 3) {
    error = "auth.query.sql returned a row without three columns";
    return std::nullopt;
  }
  if (!row[1] || row[1]->empty()) {
    user.status = LookupStatus::NullPassword;
    return user;
  }
  user.status = LookupStatus::Found;
  user.secret = *row[1];
  if (row[2]) user.valid_until_epoch = std::strtod(row[2]->c_str(), nullptr);  // "Infinity" too
  return user;
}

std::string_view describe(LookupStatus status) {
  switch (status) {
    case LookupStatus::Found:
      return "found";
    case LookupStatus::NoSuchUser:
      return "auth_query: no such user";
    case LookupStatus::NullPassword:
      return "auth_query: the user has no password (NULL)";
    case LookupStatus::Expired:
      return "auth_query: the password has expired (VALID UNTIL)";
  }
  return "?";
}

std::optional<LookedUpUser> LookupCache::find(const std::string& key, TimePoint now) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || now - it->second.stored >= ttl_) return std::nullopt;
  return it->second.user;
}

void LookupCache::store(const std::string& key, LookedUpUser user, TimePoint now) {
  if (ttl_ <= Duration::zero()) return;
  if (entries_.size() >= max_entries_) {
    // Drop what has expired; if that is not enough, start afresh (the cache only saves queries).
    for (auto it = entries_.begin(); it != entries_.end();)
      it = now - it->second.stored >= ttl_ ? entries_.erase(it) : std::next(it);
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_[key] = Entry{std::move(user), now};
}

}  // namespace ouroboros::auth
