// The query builder's SQL through the proxy in transaction mode, with the statement cache on in
// both the proxy (max_prepared_statements) and the client (named prepared statements).
//
// Skipped in the ordinary client_integration run; ctest runs it as client_query_builder_proxy
// (--no-skip). It starts $OUROBOROS_BIN itself with a generated configuration: listen on port 0,
// SCRAM for the cluster's ordinary user, pool mode transaction with two servers.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "query_builder_fixture.hpp"
#include "test_database.hpp"

extern char** environ;

using namespace ouroboros;
using Strings = std::vector<std::string>;

namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A double-quoted YAML scalar.
std::string yaml_string(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// One proxy process started by this test: stdout and stderr go to a log file, which is polled
// for "listening on HOST:PORT"; stop() sends SIGTERM and waits for a clean exit.
class Proxy {
 public:
  explicit Proxy(const std::string& config) {
    const char* binary = std::getenv("OUROBOROS_BIN");
    if (binary == nullptr || !std::filesystem::exists(binary))
      throw std::runtime_error("OUROBOROS_BIN does not name the proxy binary (build `ouroboros`)");
    char pattern[] = "/tmp/ouro-qb-proxy-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    std::ofstream(dir_ / "proxy.yaml") << config;
    const std::string config_path = (dir_ / "proxy.yaml").string();
    const std::string log_path = (dir_ / "proxy.log").string();

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::string arg0 = binary, arg1 = "--config", arg2 = config_path;
    char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
    const int error = ::posix_spawn(&pid_, binary, &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) throw std::runtime_error("posix_spawn failed");

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      const std::string log = this->log();
      if (parse_listening(log)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("the proxy exited before listening:\n" + log);
      }
      if (std::chrono::steady_clock::now() > deadline) {
        kill_now();
        throw std::runtime_error("the proxy did not log 'listening on' in 15 s:\n" + log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded by the deadline
    }
  }
  ~Proxy() {
    kill_now();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  std::string dsn(const std::string& user, const std::string& password,
                  const std::string& dbname) const {
    return "host=" + host_ + " port=" + std::to_string(port_) + " user=" + user +
           " password=" + password + " dbname=" + dbname + " connect_timeout=10";
  }
  std::string log() const { return read_text(dir_ / "proxy.log"); }

  // SIGTERM and wait (up to 30 s); the exit status (-1 if it had to be killed).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill_now();
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded by the deadline
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  // "listening on HOST:PORT" in the log: sets host_ and port_.
  bool parse_listening(const std::string& log) {
    const std::string marker = "listening on ";
    const std::size_t at = log.find(marker);
    if (at == std::string::npos) return false;
    const std::size_t end = log.find_first_of(" \n", at + marker.size());
    if (end == std::string::npos) return false;  // the line is still being written
    const std::string address = log.substr(at + marker.size(), end - at - marker.size());
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos) return false;
    host_ = address.substr(0, colon);
    port_ = std::atoi(address.c_str() + colon + 1);
    return port_ > 0;
  }

  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::string host_;
  int port_ = 0;
};

std::string transaction_mode_config() {
  const client_test::ClusterInfo& c = client_test::cluster();
  return "listen: { host: 127.0.0.1, port: 0 }\n"
         "auth:\n"
         "  type: scram-sha-256\n"
         "  users:\n"
         "    " +
         yaml_string(c.user) + ": { password: " + yaml_string(c.password) +
         " }\n"
         "pool: { mode: transaction, size: 2, max_prepared_statements: 100 }\n"
         "databases:\n"
         "  " +
         yaml_string(c.dbname) + ": { host: " + yaml_string(c.host) +
         ", port: " + std::to_string(c.port) +
         " }\n"
         "metrics: { port: 0 }\n";
}

Strings names_of(const Result& result) {
  return qb_test::names(result);
}

}  // namespace

TEST_CASE("query builder through the proxy in transaction mode with the statement cache on" *
          doctest::skip()) {
  const client_test::ClusterInfo& cluster = client_test::cluster();
  Connection admin(client_test::direct_dsn(cluster.user, cluster.password));
  qb_test::Shop shop(admin, client_test::unique_name("qb_proxy"));
  const auto& u = shop.users;
  const auto& o = shop.orders;

  Proxy proxy(transaction_mode_config());
  INFO(proxy.log());  // shown (read then) when a check fails or the test throws
  ConnectOptions options;
  options.statement_cache_size = 50;  // named prepared statements
  std::vector<Connection> clients;
  for (int i = 0; i < 3; ++i)  // three clients over two servers
    clients.emplace_back(proxy.dsn(cluster.user, cluster.password, cluster.dbname), options);

  query::Param<std::string> tag("tag");
  query::Param<std::int32_t> min_age("min_age");
  const auto tagged = query::select(u.name).from(u).where(u.tags.any_(tag)).order_by(u.id);
  const auto paid_exists = query::select(u.name)
                               .from(u)
                               .where(query::exists(query::select(o.id).from(o).where(
                                          o.user_id == u.id && o.status == "paid")) &&
                                      (u.age >= min_age || u.age.is_null()))
                               .order_by(u.id);
  const auto left = query::select(u.name, o.total).from(u).left_join(o, o.user_id == u.id);
  const auto json =
      query::select(u.name).from(u).where(u.meta.has_any({"vip", "trial"})).order_by(u.id);
  const auto lazy = query::select_from(u).only(u.name).order_by(u.id);

  for (int round = 0; round < 6; ++round) {
    for (Connection& conn : clients) {
      CHECK(names_of(tagged.fetch(conn, {tag.bind(round % 2 ? "staff" : "admin")})) ==
            (round % 2 ? Strings{"ann", "bob"} : Strings{"ann", "dee"}));
      CHECK(names_of(paid_exists.fetch(conn, {min_age.bind(round % 2 ? 40 : 0)})) ==
            (round % 2 ? Strings{"dee"} : Strings{"ann", "dee"}));
      CHECK(left.fetch(conn).size() == 7);
      CHECK(names_of(json.fetch(conn)) == Strings{"ann", "dee", "eve"});
      auto people = lazy.all<qb_test::User>(conn);
      REQUIRE(people.size() == 5);
      CHECK(people[round % 5].name == Strings{"ann", "bob", "cid", "dee", "eve"}[round % 5]);
      CHECK_THROWS_AS(people[0].bio.get(), query::NotLoaded);
    }
  }

  // DML with and without RETURNING, inside a transaction through the pooler.
  Connection& writer = clients[0];
  {
    Transaction tx = writer.begin();
    const auto id = query::insert_into(u)
                        .set(u.name, "zoe")
                        .set(u.tags, Strings{"proxy"})
                        .set(u.meta, Json{"{}"})
                        .returning(u.id)
                        .one<std::int64_t>(tx);
    CHECK(query::update(u).set(u.age, 50).where(u.id == id).execute(tx) == 1);
    CHECK(names_of(tagged.fetch(tx, {tag.bind("proxy")})) == Strings{"zoe"});
    tx.commit();
  }
  CHECK(names_of(tagged.fetch(clients[2], {tag.bind("proxy")})) == Strings{"zoe"});
  CHECK(query::delete_from(u).where(u.tags.any_("proxy")).execute(clients[1]) == 1);

  // Three clients were served by at most two server sessions: transaction pooling, so each
  // client's named statements were prepared on whichever server ran them.
  std::set<int> servers;
  for (int round = 0; round < 4; ++round)
    for (Connection& conn : clients)
      servers.insert(conn.query_value<int>("SELECT pg_backend_pid()"));
  CHECK(servers.size() <= 2);
  for (Connection& conn : clients) CHECK(conn.cached_statements() > 0);
  clients.clear();
  const int status = proxy.stop();
  const std::string log = proxy.log();
  CHECK(status == 0);
  for (const char* marker : {"AddressSanitizer", "runtime error", "LeakSanitizer"})
    CHECK(log.find(marker) == std::string::npos);
}
