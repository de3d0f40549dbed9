// Where the integration tests find PostgreSQL: one place, so the suite can be pointed elsewhere.
//
// OUROBOROS_PG_INFO names the JSON file written by tests/support/pgcluster.py; the DSN built from
// it can be replaced by OUROBOROS_CLIENT_TEST_DSN (e.g. to run the suite through the proxy).
#pragma once

#include <string>

#include "ouroboros/client.hpp"

namespace client_test {

struct ClusterInfo {
  std::string host;
  int port = 0;
  std::string superuser, superuser_password;
  std::string user, password, dbname;
  std::string data_dir, socket_dir, bin_dir, log_file;
};

// The cluster described by OUROBOROS_PG_INFO (throws when unset or unreadable).
const ClusterInfo& cluster();
// The DSN the tests use: OUROBOROS_CLIENT_TEST_DSN, or the ordinary user of the cluster.
std::string dsn();
// A DSN straight to the cluster (never through a proxy), with the given credentials.
std::string direct_dsn(const std::string& user, const std::string& password);
// A connection to dsn().
ouroboros::Connection connect(ouroboros::ConnectOptions options = {});
// "base_<pid>": table names private to this test process.
std::string unique_name(const std::string& base);

// A table created for one test and dropped afterwards.
class Table {
 public:
  Table(ouroboros::Connection& conn, const std::string& base, const std::string& columns);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  const std::string& name() const { return name_; }
  operator const std::string&() const { return name_; }

 private:
  ouroboros::Connection& conn_;
  std::string name_;
};

inline std::string operator+(const std::string& left, const Table& table) {
  return left + table.name();
}

// Parses a flat JSON object of strings and numbers (enough for pgcluster.py's conninfo.json).
std::string json_value(const std::string& json, const std::string& key);

}  // namespace client_test
