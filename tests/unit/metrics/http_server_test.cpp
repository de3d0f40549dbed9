// HttpServer over real loopback sockets: the server's loop runs on the test thread, the client is
// a thread with blocking sockets; the loop stops when the client thread says it is done.
#include "io/http_server.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "io/event_loop.h"
#include "io/timer.h"

using namespace ouroboros;
using namespace ouroboros::io;
using namespace std::string_literals;

namespace {

// Blocking loopback client helpers. Every socket has a receive timeout so a server bug fails the
// test instead of hanging it.
int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Everything until EOF, an error or the receive timeout.
std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Reads until the peer closes the connection: true at EOF, false when the receive timeout (or
// an error) ends the wait first. What arrived meanwhile goes to `out`.
bool read_until_eof(int fd, std::string& out) {
  char buffer[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) return true;
    if (n < 0) return false;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

// One request on a new connection; the raw response ("" if the server closed without one).
std::string exchange(std::uint16_t port, std::string_view request) {
  int fd = connect_to(port);
  if (fd < 0) return "connect failed";
  send_all(fd, request);
  std::string response = read_all(fd);
  ::close(fd);
  return response;
}

int status_of(const std::string& response) {
  if (response.compare(0, 9, "HTTP/1.1 ") != 0 || response.size() < 12) return -1;
  return std::stoi(response.substr(9, 3));
}

std::string body_of(const std::string& response) {
  std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? "" : response.substr(end + 4);
}

bool has_header(const std::string& response, std::string_view header) {
  std::size_t end = response.find("\r\n\r\n");
  return response.substr(0, end + 2).find(std::string("\r\n") + std::string(header) + "\r\n") !=
         std::string::npos;
}

// Runs `loop` until `client` has returned on its own thread. A watchdog stops the loop if the
// client never finishes, so a bug shows as a failure, not a hang.
void run_client(EventLoop& loop, const std::function<void()>& client) {
  UvHandle<uv_async_t> wake(&loop);
  uv_async_init(loop.raw(), wake.get(), [](uv_async_t* handle) {
    if (auto* l = UvHandle<uv_async_t>::owner_of<EventLoop>(handle)) l->stop();
  });
  wake.mark_initialized();
  bool timed_out = false;
  Timer watchdog(loop);
  watchdog.start(std::chrono::seconds(60), [&] {
    timed_out = true;
    loop.stop();
  });
  std::thread thread([&] {
    client();
    uv_async_send(wake.get());
  });
  loop.run();
  thread.join();
  CHECK_FALSE(timed_out);
}

HttpResponse echo_handler(const HttpRequest& request) {
  if (request.path != "/x") return {404, "text/plain", "no such page\n"};
  return {200, "text/plain; charset=utf-8",
          request.method + " " + request.path + " ?" + request.query + "\n"};
}

struct Fixture {
  EventLoop loop;
  HttpServer server;
  explicit Fixture(HttpServer::Handler handler = echo_handler, HttpServer::Limits limits = {})
      : server(loop, std::move(handler), limits) {
    REQUIRE(server.listen("127.0.0.1", 0) == "");
    REQUIRE(server.bound_port() != 0);
  }
  std::uint16_t port() const { return server.bound_port(); }
};

}  // namespace

TEST_CASE("http: GET is answered by the handler with Content-Length and Connection: close") {
  Fixture f;
  std::string ok, query, not_found, head, http10, lf_only;
  run_client(f.loop, [&] {
    ok = exchange(f.port(), "GET /x HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
    query = exchange(f.port(), "GET /x?a=1&b=%20 HTTP/1.1\r\nHost: h\r\n\r\n");
    not_found = exchange(f.port(), "GET /nope HTTP/1.1\r\n\r\n");
    head = exchange(f.port(), "HEAD /x HTTP/1.1\r\n\r\n");
    http10 = exchange(f.port(), "GET /x HTTP/1.0\r\n\r\n");
    lf_only = exchange(f.port(), "GET /x HTTP/1.1\nHost: h\n\n");
  });
  CHECK(ok ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\n"
        "Connection: close\r\n\r\nGET /x ?\n");
  CHECK(body_of(query) == "GET /x ?a=1&b=%20\n");
  CHECK(status_of(not_found) == 404);
  CHECK(body_of(not_found) == "no such page\n");
  CHECK(status_of(head) == 200);
  CHECK(has_header(head, "Content-Length: 10"));  // the size of "HEAD /x ?\n", not sent
  CHECK(body_of(head) == "");
  CHECK(status_of(http10) == 200);
  CHECK(status_of(lf_only) == 200);
}

TEST_CASE("http: methods other than GET and HEAD get 405") {
  Fixture f;
  std::string post, del;
  run_client(f.loop, [&] {
    post = exchange(f.port(), "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    del = exchange(f.port(), "DELETE /x HTTP/1.1\r\n\r\n");
  });
  CHECK(status_of(post) == 405);
  CHECK(has_header(post, "Allow: GET, HEAD"));
  CHECK(has_header(post, "Connection: close"));
  CHECK(status_of(del) == 405);
}

TEST_CASE("http: malformed requests get 400") {
  Fixture f;
  const std::vector<std::string> garbage = {
      "\r\n\r\n",
      "GET\r\n\r\n",
      "GET /x\r\n\r\n",
      "GET /x HTTP/1.1 extra\r\n\r\n",
      "GET  /x HTTP/1.1\r\n\r\n",
      "GET /x FOO/1.1\r\n\r\n",
      "GET /x HTTP/1.12\r\n\r\n",
      "G(T /x HTTP/1.1\r\n\r\n",
      "GET x HTTP/1.1\r\n\r\n",
      "GET http://host/x HTTP/1.1\r\n\r\n",
      "GET /x\x01 HTTP/1.1\r\n\r\n",
      "GET /\xff HTTP/1.1\r\n\r\n",
      "GET /x HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET /x HTTP/1.1\r\n: empty name\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\x01\r\n\r\n",
      "GET /x HTTP/1.1\r\nHost: a\0b\r\n\r\n"s,
      "\0\0\0\x08\x04\xd2\x16\x2f\n\n"s,  // a PostgreSQL SSLRequest, and LFs
  };
  std::vector<std::string> responses;
  std::string http2;
  run_client(f.loop, [&] {
    for (const auto& request : garbage) responses.push_back(exchange(f.port(), request));
    http2 = exchange(f.port(), "GET /x HTTP/2.0\r\n\r\n");
  });
  REQUIRE(responses.size() == garbage.size());
  for (std::size_t i = 0; i < garbage.size(); ++i) {
    INFO("request #" << i << ": " << garbage[i]);
    CHECK(status_of(responses[i]) == 400);
  }
  CHECK(status_of(http2) == 505);
}

TEST_CASE("http: a head over the limit gets 431") {
  Fixture f;
  std::string no_end, with_end, just_fits;
  const std::string request_line = "GET /x HTTP/1.1\r\n";
  run_client(f.loop, [&] {
    // Never terminated: answered once the limit is passed.
    no_end = exchange(f.port(), request_line + "X-Big: " + std::string(9000, 'a'));
    // Terminated, but beyond the limit.
    with_end = exchange(f.port(), request_line + "X-Big: " + std::string(8200, 'a') + "\r\n\r\n");
    // Exactly 8 KiB, terminator included.
    std::string head = request_line + "X-Big: ";
    head += std::string(8192 - head.size() - 4, 'a') + "\r\n\r\n";
    just_fits = exchange(f.port(), head);
  });
  CHECK(status_of(no_end) == 431);
  CHECK(status_of(with_end) == 431);
  CHECK(status_of(just_fits) == 200);
}

TEST_CASE("http: requests arriving byte by byte") {
  Fixture f;
  std::string response;
  run_client(f.loop, [&] {
    int fd = connect_to(f.port());
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
    for (char c : std::string_view("GET /x?slow HTTP/1.1\r\nHost: h\r\n\r\n"))
      send_all(fd, std::string_view(&c, 1));
    response = read_all(fd);
    ::close(fd);
  });
  CHECK(body_of(response) == "GET /x ?slow\n");
}

TEST_CASE("http: many sequential requests") {
  Fixture f;
  int ok = 0;
  run_client(f.loop, [&] {
    for (int i = 0; i < 200; ++i) {
      std::string r = exchange(f.port(), "GET /x?i=" + std::to_string(i) + " HTTP/1.1\r\n\r\n");
      if (body_of(r) == "GET /x ?i=" + std::to_string(i) + "\n") ++ok;
    }
  });
  CHECK(ok == 200);
  CHECK(f.server.connection_count() == 0);
}

TEST_CASE("http: many concurrent connections") {
  Fixture f;
  constexpr int kConnections = 100;
  int ok = 0;
  run_client(f.loop, [&] {
    std::vector<int> fds;
    for (int i = 0; i < kConnections; ++i) {
      fds.push_back(connect_to(f.port()));
      send_all(fds.back(), "GET /x?c=" + std::to_string(i));
    }
    for (int i = kConnections - 1; i >= 0; --i) send_all(fds[i], " HTTP/1.1\r\n\r\n");
    for (int i = 0; i < kConnections; ++i) {
      if (body_of(read_all(fds[i])) == "GET /x ?c=" + std::to_string(i) + "\n") ++ok;
      ::close(fds[i]);
    }
  });
  CHECK(ok == kConnections);
}

TEST_CASE("http: connections closed mid-request do not disturb the server") {
  Fixture f;
  std::string after;
  run_client(f.loop, [&] {
    // Connect and leave at once.
    ::close(connect_to(f.port()));
    // Half a request, then a clean close.
    int fd = connect_to(f.port());
    send_all(fd, "GET /x HTTP/1.1\r\nHos");
    ::close(fd);
    // Half a request, then a reset.
    fd = connect_to(f.port());
    send_all(fd, "GET /x HT");
    linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    ::close(fd);
    // A full request whose answer is never read.
    fd = connect_to(f.port());
    send_all(fd, "GET /x HTTP/1.1\r\n\r\n");
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    ::close(fd);
    // Half a request, then end of input: the server gives up without an answer.
    fd = connect_to(f.port());
    send_all(fd, "GET /x HTTP/1.1\r\n");
    ::shutdown(fd, SHUT_WR);
    after = read_all(fd);
    ::close(fd);
    after += exchange(f.port(), "GET /x?after HTTP/1.1\r\n\r\n");
  });
  CHECK(after.find("HTTP/1.1 200 OK") == 0);
  CHECK(body_of(after) == "GET /x ?after\n");
}

TEST_CASE("http: random bytes never crash the server") {
  Fixture f;
  std::mt19937 random(20240611);
  std::vector<std::string> inputs;
  for (int i = 0; i < 300; ++i) {
    std::string input(random() % 600, '\0');
    for (char& c : input) {
      // Mostly printable with some structure, so parsing gets past the first checks.
      unsigned pick = random() % 16;
      c = pick == 0   ? '\n'
          : pick == 1 ? '\r'
          : pick == 2 ? ' '
          : pick == 3 ? ':'
          : pick == 4 ? static_cast<char>(random() % 256)
                      : static_cast<char>('A' + random() % 58);
    }
    if (i % 3 == 0) input = "GET /" + input;
    inputs.push_back(std::move(input));
  }
  int answered_or_closed = 0;
  run_client(f.loop, [&] {
    for (const auto& input : inputs) {
      int fd = connect_to(f.port());
      send_all(fd, input);
      ::shutdown(fd, SHUT_WR);  // lets the server see the end of an unterminated head
      std::string response = read_all(fd);
      ::close(fd);
      if (response.empty() || status_of(response) > 0) ++answered_or_closed;
    }
  });
  CHECK(answered_or_closed == static_cast<int>(inputs.size()));
  std::string still_fine;
  run_client(f.loop, [&] { still_fine = exchange(f.port(), "GET /x HTTP/1.1\r\n\r\n"); });
  CHECK(status_of(still_fine) == 200);
}

TEST_CASE("http: an idle connection is dropped after the timeout") {
  HttpServer::Limits limits;
  limits.idle_timeout = std::chrono::milliseconds(50);
  Fixture f(echo_handler, limits);
  std::string idle;
  bool closed = false;
  run_client(f.loop, [&] {
    int fd = connect_to(f.port());
    send_all(fd, "GET /x HTTP/1.1\r\n");
    // The server must close it: the socket's 5s receive timeout ending the wait is a failure.
    closed = read_until_eof(fd, idle);
    ::close(fd);
  });
  CHECK(closed);
  CHECK(idle == "");
}

TEST_CASE("http: connections beyond the limit are closed at once") {
  HttpServer::Limits limits;
  limits.max_connections = 2;
  Fixture f(echo_handler, limits);
  std::string first, second, third;
  run_client(f.loop, [&] {
    int a = connect_to(f.port());
    int b = connect_to(f.port());
    send_all(a, "GET /x?a");
    send_all(b, "GET /x?b");
    third = exchange(f.port(), "GET /x?c HTTP/1.1\r\n\r\n");
    send_all(a, " HTTP/1.1\r\n\r\n");
    send_all(b, " HTTP/1.1\r\n\r\n");
    first = read_all(a);
    second = read_all(b);
    ::close(a);
    ::close(b);
  });
  CHECK(third == "");
  CHECK(body_of(first) == "GET /x ?a\n");
  CHECK(body_of(second) == "GET /x ?b\n");
}

TEST_CASE("http: handler failures become 500 and bad statuses are contained") {
  Fixture f([](const HttpRequest& request) -> HttpResponse {
    if (request.path == "/throw") throw std::runtime_error("boom");
    if (request.path == "/odd") return {42, "text/plain\r\nX-Injected: 1", "odd"};
    return {204, "", ""};
  });
  std::string thrown, odd, empty;
  run_client(f.loop, [&] {
    thrown = exchange(f.port(), "GET /throw HTTP/1.1\r\n\r\n");
    odd = exchange(f.port(), "GET /odd HTTP/1.1\r\n\r\n");
    empty = exchange(f.port(), "GET /empty HTTP/1.1\r\n\r\n");
  });
  CHECK(status_of(thrown) == 500);
  CHECK(status_of(odd) == 500);
  CHECK(odd.find("\r\nX-Injected") == std::string::npos);
  CHECK(empty == "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http: close() from the handler stops the server") {
  EventLoop loop;
  HttpServer* server_ptr = nullptr;
  HttpServer server(loop, [&](const HttpRequest&) {
    server_ptr->close();
    return HttpResponse{200, "text/plain", "closing\n"};
  });
  server_ptr = &server;
  REQUIRE(server.listen("127.0.0.1", 0) == "");
  std::uint16_t port = server.bound_port();
  std::string response;
  int reconnect = 0;
  run_client(loop, [&] {
    response = exchange(port, "GET /stop HTTP/1.1\r\n\r\n");
    reconnect = connect_to(port);
    if (reconnect >= 0) ::close(reconnect);
  });
  CHECK(response == "");  // the connection was dropped with the server
  CHECK(reconnect < 0);
  CHECK(server.connection_count() == 0);
}

TEST_CASE("http: listen reports bad addresses") {
  EventLoop loop;
  HttpServer server(loop, echo_handler);
  CHECK(server.listen("not an address", 0) != "");
}
