#pragma once
// The admin console's window into one Proxy: snapshots of its pools and connections, and the
// PAUSE/RESUME/RECONNECT/KILL/RELOAD/SHUTDOWN commands.
#include <functional>
#include <string>

#include "admin/proxy_view.h"

namespace ouroboros::proxy {

class Proxy;

class AdminView final : public admin::ProxyView {
 public:
  // `reload` re-reads the configuration file (as SIGHUP does): "" or the errors.
  AdminView(Proxy& proxy, std::function<std::string()> reload) : proxy_(proxy), reload_(std::move(reload)) {}

  std::vector<admin::PoolSnapshot> pools() const override;
  std::vector<admin::DatabaseSnapshot> databases() const override;
  std::vector<admin::ConnectionSnapshot> clients() const override;
  std::vector<admin::ConnectionSnapshot> servers() const override;
  std::vector<std::pair<std::string, std::string>> config() const override;
  std::vector<admin::QueryStatsSnapshot> query_stats() const override;
  std::string version() const override;

  std::string pause(const std::string& database) override;
  std::string resume(const std::string& database) override;
  std::string reconnect(const std::string& database) override;
  std::string kill(const std::string& database) override;
  std::string reload() override;
  std::string shutdown() override;

 private:
  Proxy& proxy_;
  std::function<std::string()> reload_;
};

}  // namespace ouroboros::proxy
