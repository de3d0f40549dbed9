#pragma once
// Per pool, transaction/statement mode: which clients listen to which channels, so that one
// listening server connection can hold the union of the channels and hand each notification to
// the clients that listen to its channel.
//
// A client's channels are the ones its committed LISTENs left plus, until its transaction ends,
// the ones it just sent a LISTEN for (registered early, so that the listening connection hears
// the channel before the client's own LISTEN commits). Notifications on an early channel are
// handed to the client too: it holds them until its transaction ends and keeps those whose
// channel it then listens to.
// Pure: no I/O. Not thread-safe (one per pool, on its loop).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ouroboros::session {

class ListenRegistry {
 public:
  using ClientId = std::uint64_t;

  // The client's transaction ended: it listens to exactly `committed` now, and its early
  // registrations are settled (kept if committed, dropped if not).
  void settle(ClientId client, const std::set<std::string>& committed);
  // The client sent a LISTEN that has not committed yet.
  void listen_ahead(ClientId client, const std::string& channel);
  // The client is gone.
  void remove(ClientId client);

  // Every channel some client listens to (committed or ahead): what the listener must hold.
  std::set<std::string> channels() const;
  bool empty() const { return refcount_.empty(); }
  // Clients listening to `channel` (committed or early), in id order.
  std::vector<ClientId> subscribers(std::string_view channel) const;
  // Whether the client's committed channels include `channel`.
  bool listens(ClientId client, std::string_view channel) const;
  std::size_t client_count() const { return clients_.size(); }

 private:
  struct Client {
    std::set<std::string, std::less<>> committed;
    std::set<std::string, std::less<>> ahead;  // not in committed
  };
  void add_ref(const std::string& channel);
  void drop_ref(const std::string& channel);

  std::map<ClientId, Client> clients_;
  std::map<std::string, std::size_t, std::less<>> refcount_;  // clients holding the channel
};

// The simple-query text that takes a connection listening to `have` to listening to `want`
// (UNLISTEN for what goes, LISTEN for what comes, channel names quoted); "" when equal.
std::string listen_sync_sql(const std::set<std::string>& have, const std::set<std::string>& want);

// A channel name as a quoted SQL identifier ("a""b" for a"b).
std::string quote_channel(std::string_view channel);

}  // namespace ouroboros::session
