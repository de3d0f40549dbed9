#pragma once
// A minimal HTTP/1.1 server for the metrics endpoint and health checks. One request per
// connection: the head is read (request line and headers, at most Limits::max_header_bytes, else
// 431), the handler answers, the response goes out with Content-Length and `Connection: close`
// and the connection closes once it is sent. Only GET and HEAD reach the handler (405 otherwise);
// a request body is never read. A connection that takes longer than Limits::idle_timeout to send
// its request or to take the response is dropped.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "io/event_loop.h"
#include "io/http_request.h"
#include "io/tcp_listener.h"

namespace ouroboros::io {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";  // "" sends no Content-Type
  std::string body;  // not sent for HEAD; Content-Length still says its size
};

class HttpServer {
 public:
  // Runs on the loop thread. It must not destroy the server; calling close() is fine.
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  struct Limits {
    std::size_t max_header_bytes = 8 * 1024;           // request line and headers
    Duration idle_timeout = std::chrono::seconds(10);  // per connection, to request and to flush
    std::size_t max_connections = 256;                 // more are closed as they are accepted
  };

  HttpServer(EventLoop& loop, Handler handler) : HttpServer(loop, std::move(handler), Limits{}) {}
  HttpServer(EventLoop& loop, Handler handler, Limits limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; port 0 picks a free port. Returns "" or an error message.
  std::string listen(const std::string& host, std::uint16_t port);
  std::uint16_t bound_port() const { return listener_.bound_port(); }
  // Stops listening and drops every open connection, for good. Idempotent.
  void close();
  std::size_t connection_count() const { return connections_.size(); }

 private:
  class Connection;
  void on_accept(std::unique_ptr<TcpTransport> transport);
  // Closes the connection now and frees it on the next loop iteration: it may be on the stack.
  void retire(Connection* connection);
  void free_retired();

  EventLoop& loop_;
  Handler handler_;
  Limits limits_;
  TcpListener listener_;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> retired_;
  // Deferred work holds a weak_ptr to this, so it does nothing once the server is gone.
  std::shared_ptr<HttpServer*> self_;
};

}  // namespace ouroboros::io
