#pragma once
// Test helper: a ProxyView holding plain snapshots and recording the commands it receives.
#include <string>
#include <utility>
#include <vector>

#include "admin/proxy_view.h"

namespace ouroboros::admin::test {

class FakeProxyView : public ProxyView {
 public:
  std::vector<PoolSnapshot> pool_list;
  std::vector<DatabaseSnapshot> database_list;
  std::vector<ConnectionSnapshot> client_list, server_list;
  std::vector<std::pair<std::string, std::string>> settings;
  std::vector<QueryStatsSnapshot> queries;
  std::string version_text = "Ouroboros 0.1.0";

  std::string command_error;          // returned by every command when set
  std::vector<std::string> commands;  // "pause app", "pause ", "reload", ...

  std::vector<PoolSnapshot> pools() const override { return pool_list; }
  std::vector<DatabaseSnapshot> databases() const override { return database_list; }
  std::vector<ConnectionSnapshot> clients() const override { return client_list; }
  std::vector<ConnectionSnapshot> servers() const override { return server_list; }
  std::vector<std::pair<std::string, std::string>> config() const override { return settings; }
  std::vector<QueryStatsSnapshot> query_stats() const override { return queries; }
  std::string version() const override { return version_text; }

  std::string pause(const std::string& database) override { return record("pause " + database); }
  std::string resume(const std::string& database) override { return record("resume " + database); }
  std::string reconnect(const std::string& database) override {
    return record("reconnect " + database);
  }
  std::string kill(const std::string& database) override { return record("kill " + database); }
  std::string reload() override { return record("reload"); }
  std::string shutdown() override { return record("shutdown"); }

 private:
  std::string record(std::string command) {
    commands.push_back(std::move(command));
    return command_error;
  }
};

}  // namespace ouroboros::admin::test
