#pragma once
// Proxy-wide prepared statements keyed by (query text, parameter type OIDs). Clients that prepare
// the same text share one entry and one server-side name, so a server prepares it once for all.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ouroboros::session {

struct PreparedStatement {
  std::uint64_t id = 0;
  std::string query;
  std::vector<std::uint32_t> parameter_types;
  std::string server_name;  // the name used on every server
};

// The name a statement has on every server (ids are never reused).
inline std::string server_statement_name(std::uint64_t id) { return "_ouroboros_" + std::to_string(id); }

class StatementRegistry {
 public:
  // The shared entry for this text and these types; it lives while a client holds it. An `owner`
  // other than 0 makes an entry of that owner's alone (EXECUTE of a SQL-level statement: its rows
  // are that client's statement's, described once per server statement).
  std::shared_ptr<const PreparedStatement> intern(std::string_view query, const std::vector<std::uint32_t>& types,
                                                  std::uintptr_t owner = 0);
  // Entries some client still holds.
  std::size_t live() const;

 private:
  static std::string key_of(std::string_view query, const std::vector<std::uint32_t>& types, std::uintptr_t owner);
  void purge();

  std::unordered_map<std::string, std::weak_ptr<const PreparedStatement>> entries_;
  std::uint64_t next_id_ = 0;
  std::size_t interned_since_purge_ = 0;
};

}  // namespace ouroboros::session
