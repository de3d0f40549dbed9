#include "io/tcp_transport.h"

#include <arpa/inet.h>

#include <cstring>

#include "io/host_resolver.h"

namespace ouroboros::io {

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kDefaultInputLimit = 64u << 20;

// "host:port", and the host alone in `ip`.
std::string describe_peer(uv_tcp_t* tcp, std::string& ip) {
  sockaddr_storage addr{};
  int len = sizeof(addr);
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "?";
  int port = 0;
  if (addr.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  else if (addr.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  ip = address_text(*reinterpret_cast<const sockaddr*>(&addr));
  return ip + ":" + std::to_string(port);
}
}  // namespace

// Owns the bytes until libuv has written them.
struct TcpTransport::WriteRequest {
  uv_write_t req{};
  Bytes data;
};

TcpTransport::TcpTransport(EventLoop& loop, bool unix_socket)
    : handle_(this),
      loop_(&loop),
      input_(kDefaultInputLimit, &loop.buffers()),
      unix_socket_(unix_socket) {
  if (unix_socket_) {
    uv_pipe_init(loop.raw(), pipe(), 0);
  } else {
    uv_tcp_init(loop.raw(), handle());
  }
  handle_.mark_initialized();
}

TcpTransport::~TcpTransport() { close(); }

void TcpTransport::mark_connected() {
  open_ = true;
  if (unix_socket_) {
    peer_ = "unix";  // a Unix-domain socket peer has no address worth showing
    return;
  }
  uv_tcp_nodelay(handle(), 1);
  peer_ = describe_peer(handle(), peer_ip_);
}

void TcpTransport::start_reading() {
  if (!open_ || reading_) return;
  reading_ = true;
  uv_read_start(
      handle_.as_stream(),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* self = Handle::owner_of_handle<TcpTransport>(h);
        if (!self) {
          *buf = uv_buf_init(nullptr, 0);
          return;
        }
        auto tail = self->input_.tail(kReadChunk);
        *buf = uv_buf_init(reinterpret_cast<char*>(tail.data()), static_cast<unsigned>(tail.size()));
      },
      [](uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
        if (auto* self = Handle::owner_of_handle<TcpTransport>(reinterpret_cast<uv_handle_t*>(s)))
          self->on_read(nread);
      });
}

void TcpTransport::stop_reading() {
  if (!open_ || !reading_) return;
  reading_ = false;
  uv_read_stop(handle_.as_stream());
}

void TcpTransport::on_read(ssize_t nread) {
  if (nread == UV_ENOBUFS) {
    // The peer sent more than the input limit without a complete message.
    fail("input buffer limit exceeded");
    return;
  }
  if (nread < 0) {
    fail(nread == UV_EOF ? "connection closed by peer" : uv_strerror(static_cast<int>(nread)));
    return;
  }
  if (nread == 0) {
    input_.release_if_empty();  // nothing arrived after all (EAGAIN): keep no buffer for it
    return;
  }
  input_.commit(static_cast<std::size_t>(nread));
  EventLoop::CallbackClock clock(*loop_);
  if (handler_) handler_->on_readable(input_);
  // Destruction of a transport is deferred (never inside its own callbacks), so this is alive.
  input_.release_if_empty();
}

bool TcpTransport::send(ByteView data) {
  if (!open_) return false;
  if (data.empty()) return true;
  if (queued_ == 0) {
    // As in write(): usually the socket takes everything and nothing is copied.
    uv_buf_t now = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())),
                               static_cast<unsigned>(data.size()));
    int written = uv_try_write(handle_.as_stream(), &now, 1);
    if (written == static_cast<int>(data.size())) return true;
    if (written > 0) data = data.subspan(static_cast<std::size_t>(written));
  }
  return write(Bytes(data.begin(), data.end()));
}

bool TcpTransport::write(Bytes data) {
  if (!open_) return false;
  if (data.empty()) return true;
  if (queued_ == 0) {
    // Nothing queued: write now. Usually everything goes and no request is made (no allocation,
    // and libuv does not arm and disarm write-readiness on the socket, an epoll_ctl each way).
    uv_buf_t now = uv_buf_init(reinterpret_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
    int written = uv_try_write(handle_.as_stream(), &now, 1);
    if (written == static_cast<int>(data.size())) return true;
    // An error is left to the queued write below, which reports it from its callback: callers
    // do not expect the connection to close under them inside write().
    if (written > 0) data.erase(data.begin(), data.begin() + written);
  }
  auto* wr = new WriteRequest;
  wr->data = std::move(data);
  wr->req.data = wr;
  std::size_t size = wr->data.size();
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(wr->data.data()), static_cast<unsigned>(size));
  int rc = uv_write(&wr->req, handle_.as_stream(), &buf, 1, [](uv_write_t* req, int status) {
    auto* wr = static_cast<WriteRequest*>(req->data);
    std::size_t bytes = wr->data.size();
    auto* self = Handle::owner_of_handle<TcpTransport>(reinterpret_cast<uv_handle_t*>(req->handle));
    delete wr;
    if (self) self->on_write_done(bytes, status);
  });
  if (rc != 0) {
    delete wr;
    fail(uv_strerror(rc));
    return false;
  }
  queued_ += size;
  if (queued_ > high_water_) was_above_ = true;
  return true;
}

void TcpTransport::on_write_done(std::size_t bytes, int status) {
  queued_ -= std::min(bytes, queued_);
  if (status != 0) {
    if (status != UV_ECANCELED) fail(uv_strerror(status));
    return;
  }
  if (was_above_ && queued_ <= high_water_ / 4) {
    was_above_ = false;
    if (handler_) handler_->on_drained();
  }
}

void TcpTransport::close_after_flush() {
  if (!open_) return;
  stop_reading();
  open_ = false;
  // uv_shutdown completes after every queued write; only then is the handle closed. The handle
  // leaves this object's ownership, so destroying the transport now does not cut the data off.
  auto* req = new uv_shutdown_t;
  int rc = uv_shutdown(req, handle_.as_stream(), [](uv_shutdown_t* r, int) {
    Handle::close_raw(reinterpret_cast<uv_handle_t*>(r->handle));
    delete r;
  });
  if (rc != 0) {
    delete req;
    handle_.close();
    return;
  }
  handle_.release();
}

void TcpTransport::close() {
  if (!handle_.open()) return;
  open_ = false;
  reading_ = false;
  handle_.close();
}

void TcpTransport::fail(std::string_view reason) {
  if (!open_) return;
  TransportHandler* handler = handler_;
  close();
  if (handler) handler->on_transport_closed(reason);
}

}  // namespace ouroboros::io
