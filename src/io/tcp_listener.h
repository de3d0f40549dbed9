#pragma once
// Accepts TCP connections and hands each one over as a Transport.
#include <functional>
#include <memory>
#include <string>

#include "io/event_loop.h"
#include "io/tcp_transport.h"
#include "io/uv_handle.h"

namespace ouroboros::io {

class TcpListener {
 public:
  using OnAccept = std::function<void(std::unique_ptr<TcpTransport>)>;
  TcpListener(EventLoop& loop, OnAccept on_accept);
  ~TcpListener() = default;

  // Binds and listens; port 0 picks a free port. Returns "" or an error message.
  std::string listen(const std::string& host, std::uint16_t port, int backlog = 511);
  std::uint16_t bound_port() const { return bound_port_; }
  // Stops accepting; the listening socket is closed.
  void close() { handle_.close(); }
  bool is_open() const { return handle_.open(); }

 private:
  void on_connection(int status);

  EventLoop& loop_;
  OnAccept on_accept_;
  UvHandle<uv_tcp_t> handle_;
  std::uint16_t bound_port_ = 0;
};

}  // namespace ouroboros::io
