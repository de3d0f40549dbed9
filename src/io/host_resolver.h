#pragma once
// Resolves a host name on libuv's thread pool, so a slow DNS server never stalls the loop; and
// the small address helpers that go with it.
// Destroying the resolver cancels the answer (libuv still finishes the lookup, and the request
// frees itself then).
#include <functional>
#include <string>

#include "io/event_loop.h"

namespace ouroboros::io {

class HostResolver {
 public:
  // status 0: `addresses` is the list (owned by the callee: uv_freeaddrinfo); otherwise a libuv
  // error code and `addresses` null. Never called inside resolve().
  using OnDone = std::function<void(int status, addrinfo* addresses)>;

  explicit HostResolver(EventLoop& loop) : loop_(loop) {}
  ~HostResolver();
  HostResolver(const HostResolver&) = delete;
  HostResolver& operator=(const HostResolver&) = delete;

  // One lookup at a time (TCP stream addresses of any family).
  void resolve(const std::string& host, const std::string& port, OnDone on_done);

 private:
  struct Request;
  EventLoop& loop_;
  Request* request_ = nullptr;  // in flight; detached from this on destruction
};

// An address as text ("127.0.0.1", "::1"); "" for a family other than IPv4 and IPv6.
std::string address_text(const sockaddr& address);
// Whether `text` is an IPv4 or IPv6 address rather than a name.
bool is_ip_address(const std::string& text);

}  // namespace ouroboros::io
