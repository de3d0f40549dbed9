// Connecting: backoff until a late server comes up, fast failure on a bad password.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

#include "test_database.hpp"

using namespace ouroboros;
using std::chrono::milliseconds;

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A throwaway PostgreSQL cluster, initialised now, started on demand, removed at the end.
class ThrowawayCluster {
 public:
  ThrowawayCluster() : port_(free_port()) {
    std::string bin = client_test::cluster().bin_dir;
    bin_ = bin.empty() ? "/usr/lib/postgresql/15/bin" : bin;
    char pattern[] = "/tmp/ouro-client-backoff-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir_ = pattern;
    as_owner_ = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    if (::geteuid() == 0) REQUIRE(run("chown postgres " + shell_quote(dir_)) == 0);
    REQUIRE(run(as_owner_ + shell_quote(bin_ + "/initdb") + " -D " + shell_quote(dir_ + "/data") +
                " -U postgres --auth=trust >" + shell_quote(dir_ + "/initdb.log") + " 2>&1") == 0);
  }
  ~ThrowawayCluster() {
    run(as_owner_ + shell_quote(bin_ + "/pg_ctl") + " -D " + shell_quote(dir_ + "/data") +
        " -m immediate stop >/dev/null 2>&1");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  // Blocks until the server accepts connections (pg_ctl -w).
  int start() {
    return run(as_owner_ + shell_quote(bin_ + "/pg_ctl") + " -D " + shell_quote(dir_ + "/data") +
               " -w -t 60 -l " + shell_quote(dir_ + "/server.log") + " -o " +
               shell_quote("-p " + std::to_string(port_) +
                           " -c listen_addresses=127.0.0.1 "
                           "-c unix_socket_directories=" +
                           dir_) +
               " start >/dev/null 2>&1");
  }
  std::string dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " user=postgres dbname=postgres connect_timeout=5";
  }

 private:
  static int run(const std::string& command) { return std::system(command.c_str()); }
  int port_;
  std::string bin_, dir_, as_owner_;
};

}  // namespace

TEST_CASE("connecting backs off until a server started later comes up") {
  ThrowawayCluster server;
  std::promise<void> first_failure;
  std::vector<milliseconds> delays;
  ConnectOptions options;
  options.backoff = Backoff{400, milliseconds(10), milliseconds(200), 0.2};
  options.sleep = [&](milliseconds delay) {
    if (delays.empty()) first_failure.set_value();  // the client has tried and failed
    delays.push_back(delay);
    std::this_thread::sleep_for(delay);
  };
  auto client = std::async(std::launch::async, [&] {
    Connection conn(server.dsn(), options);
    return conn.query_value<int>("SELECT 40 + 2");
  });
  first_failure.get_future().wait();
  REQUIRE(server.start() == 0);
  CHECK(client.get() == 42);
  REQUIRE(!delays.empty());
  CHECK(delays.front() <= milliseconds(10));
  for (std::size_t i = 1; i < delays.size(); ++i) CHECK(delays[i] <= milliseconds(200));
}

TEST_CASE("an unreachable server fails after the configured attempts with the last error") {
  int sleeps = 0;
  ConnectOptions options;
  options.backoff = Backoff{3, milliseconds(1), milliseconds(2), 0.0};
  options.sleep = [&](milliseconds) { ++sleeps; };
  try {
    Connection conn("host=127.0.0.1 port=" + std::to_string(free_port()) + " user=x dbname=x",
                    options);
    FAIL("expected ConnectionError");
  } catch (const ConnectionError& e) {
    CHECK(std::string(e.what()).find("after 3 attempts") != std::string::npos);
    CHECK(std::string(e.what()).find("refused") != std::string::npos);
  }
  CHECK(sleeps == 2);
}

TEST_CASE("a bad password fails at once, without retrying") {
  int sleeps = 0;
  ConnectOptions options;
  options.backoff = Backoff{50, milliseconds(1), milliseconds(2), 0.0};
  options.sleep = [&](milliseconds) { ++sleeps; };
  try {
    Connection conn(client_test::direct_dsn(client_test::cluster().user, "definitely-wrong"),
                    options);
    FAIL("expected AuthenticationError");
  } catch (const AuthenticationError& e) {
    CHECK(e.sqlstate() == "28P01");
    CHECK(std::string(e.what()).find("password authentication failed") != std::string::npos);
  }
  CHECK(sleeps == 0);
}
