#include "test_database.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace client_test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A libpq key=value value, quoted.
std::string quoted(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string json_value(const std::string& json, const std::string& key) {
  const std::string needle = "\"" + key + "\"";
  std::size_t at = json.find(needle);
  if (at == std::string::npos) return "";
  at = json.find(':', at + needle.size());
  if (at == std::string::npos) return "";
  ++at;
  while (at < json.size() && (json[at] == ' ' || json[at] == '\n' || json[at] == '\t')) ++at;
  if (at < json.size() && json[at] == '"') {
    std::string value;
    for (++at; at < json.size() && json[at] != '"'; ++at) {
      if (json[at] == '\\' && at + 1 < json.size()) ++at;
      value += json[at];
    }
    return value;
  }
  std::size_t end = json.find_first_of(",}\n", at);
  std::string value = json.substr(at, end - at);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  return value == "null" ? "" : value;
}

const ClusterInfo& cluster() {
  static const ClusterInfo info = [] {
    const char* path = std::getenv("OUROBOROS_PG_INFO");
    if (path == nullptr || *path == '\0')
      throw std::runtime_error("OUROBOROS_PG_INFO is not set (run the suite through ctest)");
    const std::string json = read_file(path);
    ClusterInfo c;
    c.host = json_value(json, "host");
    c.port = std::atoi(json_value(json, "port").c_str());
    c.superuser = json_value(json, "superuser");
    c.superuser_password = json_value(json, "superuser_password");
    c.user = json_value(json, "user");
    c.password = json_value(json, "password");
    c.dbname = json_value(json, "dbname");
    c.data_dir = json_value(json, "data_dir");
    c.socket_dir = json_value(json, "socket_dir");
    c.bin_dir = json_value(json, "bin_dir");
    c.log_file = json_value(json, "log_file");
    return c;
  }();
  return info;
}

std::string direct_dsn(const std::string& user, const std::string& password) {
  const ClusterInfo& c = cluster();
  return "host=" + quoted(c.host) + " port=" + std::to_string(c.port) +
         " dbname=" + quoted(c.dbname) + " user=" + quoted(user) + " password=" + quoted(password) +
         " connect_timeout=10";
}

std::string dsn() {
  if (const char* override_dsn = std::getenv("OUROBOROS_CLIENT_TEST_DSN");
      override_dsn != nullptr && *override_dsn != '\0')
    return override_dsn;
  return direct_dsn(cluster().user, cluster().password);
}

ouroboros::Connection connect(ouroboros::ConnectOptions options) {
  return ouroboros::Connection(dsn(), std::move(options));
}

std::string unique_name(const std::string& base) {
  return base + "_" + std::to_string(static_cast<long>(::getpid()));
}

Table::Table(ouroboros::Connection& conn, const std::string& base, const std::string& columns)
    : conn_(conn), name_(unique_name("client_" + base)) {
  conn_.execute_script("DROP TABLE IF EXISTS " + name_ + " CASCADE; CREATE TABLE " + name_ + " (" +
                       columns + ")");
}

Table::~Table() {
  try {
    if (conn_.in_transaction()) conn_.execute_script("ROLLBACK");
    conn_.execute_script("DROP TABLE IF EXISTS " + name_ + " CASCADE");
  } catch (...) {
  }
}

}  // namespace client_test
