#include "session/listen_registry.h"

namespace ouroboros::session {

void ListenRegistry::add_ref(const std::string& channel) {
  ++refcount_[channel];
}

void ListenRegistry::drop_ref(const std::string& channel) {
  auto it = refcount_.find(channel);
  if (it == refcount_.end()) return;
  if (--it->second == 0) refcount_.erase(it);
}

void ListenRegistry::settle(ClientId client, const std::set<std::string>& committed) {
  auto it = clients_.find(client);
  if (it == clients_.end()) {
    if (committed.empty()) return;
    it = clients_.emplace(client, Client{}).first;
  }
  Client& c = it->second;
  // Take the new references before dropping the old ones: a channel kept is never let go.
  for (const std::string& channel : committed)
    if (!c.committed.count(channel) && !c.ahead.count(channel)) add_ref(channel);
  for (const std::string& channel : c.committed)
    if (!committed.count(channel)) drop_ref(channel);
  for (const std::string& channel : c.ahead)
    if (!committed.count(channel)) drop_ref(channel);
  c.ahead.clear();
  c.committed = {committed.begin(), committed.end()};
  if (c.committed.empty()) clients_.erase(it);
}

void ListenRegistry::listen_ahead(ClientId client, const std::string& channel) {
  Client& c = clients_[client];
  if (c.committed.count(channel) || c.ahead.count(channel)) return;
  c.ahead.insert(channel);
  add_ref(channel);
}

void ListenRegistry::remove(ClientId client) {
  auto it = clients_.find(client);
  if (it == clients_.end()) return;
  for (const std::string& channel : it->second.committed) drop_ref(channel);
  for (const std::string& channel : it->second.ahead) drop_ref(channel);
  clients_.erase(it);
}

std::set<std::string> ListenRegistry::channels() const {
  std::set<std::string> all;
  for (const auto& [channel, count] : refcount_) all.insert(channel);
  return all;
}

std::vector<ListenRegistry::ClientId> ListenRegistry::subscribers(std::string_view channel) const {
  std::vector<ClientId> out;
  if (!refcount_.count(channel)) return out;
  for (const auto& [id, c] : clients_)
    if (c.committed.count(channel) || c.ahead.count(channel)) out.push_back(id);
  return out;
}

bool ListenRegistry::listens(ClientId client, std::string_view channel) const {
  auto it = clients_.find(client);
  return it != clients_.end() && it->second.committed.count(channel) > 0;
}

std::string quote_channel(std::string_view channel) {
  std::string out = "\"";
  for (char ch : channel) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

std::string listen_sync_sql(const std::set<std::string>& have, const std::set<std::string>& want) {
  std::string sql;
  for (const std::string& channel : have)
    if (!want.count(channel)) sql += "UNLISTEN " + quote_channel(channel) + ";";
  for (const std::string& channel : want)
    if (!have.count(channel)) sql += "LISTEN " + quote_channel(channel) + ";";
  return sql;
}

}  // namespace ouroboros::session
