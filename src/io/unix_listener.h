#pragma once
// Accepts connections on a Unix-domain socket DIR/.s.PGSQL.<port>, the name libpq looks for
// (`psql -h DIR -p PORT`), and hands each one over as a Transport. A stale socket file left by a
// process that is gone is replaced; the file is removed again when the listener closes.
#include <functional>
#include <memory>
#include <string>

#include "io/event_loop.h"
#include "io/tcp_transport.h"
#include "io/uv_handle.h"

namespace ouroboros::io {

class UnixListener {
 public:
  using OnAccept = std::function<void(std::unique_ptr<TcpTransport>)>;
  UnixListener(EventLoop& loop, OnAccept on_accept);
  ~UnixListener() { close(); }
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  // DIR/.s.PGSQL.<port>, as PostgreSQL and libpq name it.
  static std::string socket_path(const std::string& dir, std::uint16_t port);
  // Binds and listens; returns "" or an error message.
  std::string listen(const std::string& dir, std::uint16_t port, int backlog = 511);
  const std::string& path() const { return path_; }
  // Stops accepting and removes the socket file. Idempotent.
  void close();
  bool is_open() const { return handle_.open(); }

 private:
  void on_connection(int status);

  EventLoop& loop_;
  OnAccept on_accept_;
  UvHandle<UvStreamHandle> handle_;
  std::string path_;  // set once bound: the file this listener must remove
};

}  // namespace ouroboros::io
