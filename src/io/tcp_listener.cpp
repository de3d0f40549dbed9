#include "io/tcp_listener.h"

#include <arpa/inet.h>

namespace ouroboros::io {

TcpListener::TcpListener(EventLoop& loop, OnAccept on_accept)
    : loop_(loop), on_accept_(std::move(on_accept)), handle_(this) {
  uv_tcp_init(loop.raw(), handle_.get());
  handle_.mark_initialized();
}

std::string TcpListener::listen(const std::string& host, std::uint16_t port, int backlog) {
  sockaddr_storage addr{};
  if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
      uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
    return "invalid listen address '" + host + "' (an IPv4 or IPv6 address is expected)";
  }
  if (int rc = uv_tcp_bind(handle_.get(), reinterpret_cast<sockaddr*>(&addr), 0); rc != 0)
    return std::string("bind ") + host + ":" + std::to_string(port) + ": " + uv_strerror(rc);
  int rc = uv_listen(handle_.as_stream(), backlog, [](uv_stream_t* s, int status) {
    if (auto* self = UvHandle<uv_tcp_t>::owner_of_handle<TcpListener>(reinterpret_cast<uv_handle_t*>(s)))
      self->on_connection(status);
  });
  if (rc != 0) return std::string("listen ") + host + ":" + std::to_string(port) + ": " + uv_strerror(rc);
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(handle_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return "";
}

void TcpListener::on_connection(int status) {
  if (status != 0) return;
  auto transport = std::make_unique<TcpTransport>(loop_);
  if (uv_accept(handle_.as_stream(), reinterpret_cast<uv_stream_t*>(transport->handle())) != 0) return;
  transport->mark_connected();
  on_accept_(std::move(transport));
}

}  // namespace ouroboros::io
