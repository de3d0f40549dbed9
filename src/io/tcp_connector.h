#pragma once
// Opens an outgoing TCP connection: resolves the host name, then connects to the first address
// that accepts. A host beginning with '/' is a socket directory, as in libpq: the connection
// goes to the Unix-domain socket DIR/.s.PGSQL.<port>. The result arrives through a callback;
// destroying the connector cancels it.
#include <functional>
#include <memory>
#include <string>

#include "io/event_loop.h"
#include "io/host_resolver.h"
#include "io/tcp_transport.h"

namespace ouroboros::io {

class TcpConnector {
 public:
  // transport is null on failure, and error says why.
  using OnDone = std::function<void(std::unique_ptr<TcpTransport> transport, std::string error)>;

  TcpConnector(EventLoop& loop, std::string host, std::uint16_t port, OnDone on_done);
  ~TcpConnector();
  TcpConnector(const TcpConnector&) = delete;
  TcpConnector& operator=(const TcpConnector&) = delete;

  void start();

 private:
  struct Connect;
  void on_resolved(int status, addrinfo* result);
  void try_next();
  void connect_unix();
  void on_connected(int status);
  // libuv's callback for uv_tcp_connect and uv_pipe_connect alike.
  static void connect_done(uv_connect_t* req, int status);
  void finish(std::unique_ptr<TcpTransport> transport, std::string error);

  EventLoop& loop_;
  std::string host_;
  std::uint16_t port_;
  OnDone on_done_;
  HostResolver resolver_;
  addrinfo* addresses_ = nullptr;
  addrinfo* next_ = nullptr;
  std::unique_ptr<TcpTransport> attempt_;
  Connect* connect_ = nullptr;
  std::string last_error_;
  std::string unix_path_;  // set when connecting to a Unix-domain socket
};

}  // namespace ouroboros::io
