#include "auth/auth_query.h"

#include <cstdlib>

namespace ouroboros::auth {

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
