#include "io/host_resolver.h"

#include <arpa/inet.h>

namespace ouroboros::io {

struct HostResolver::Request {
  uv_getaddrinfo_t req{};
  HostResolver* owner = nullptr;  // null once the resolver is gone
  OnDone on_done;
};

HostResolver::~HostResolver() {
  if (request_) request_->owner = nullptr;  // the request frees itself when libuv answers
}

void HostResolver::resolve(const std::string& host, const std::string& port, OnDone on_done) {
  auto* request = new Request;
  request->owner = this;
  request->on_done = std::move(on_done);
  request->req.data = request;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  const int rc = uv_getaddrinfo(
      loop_.raw(), &request->req,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        auto* r = static_cast<Request*>(req->data);
        HostResolver* owner = r->owner;
        OnDone done = std::move(r->on_done);
        delete r;
        if (!owner) {
          if (res) uv_freeaddrinfo(res);
          return;
        }
        owner->request_ = nullptr;
        if (status != 0 && res) uv_freeaddrinfo(res);
        done(status, status == 0 ? res : nullptr);  // may destroy the owner
      },
      host.c_str(), port.c_str(), &hints);
  request_ = request;
  if (rc != 0) {
    // Reported from the loop, so callers never see their callback run inside resolve(); the
    // request carries it, so destroying the resolver first still cancels it.
    loop_.defer([request, rc] {
      HostResolver* owner = request->owner;
      OnDone done = std::move(request->on_done);
      delete request;
      if (!owner) return;
      owner->request_ = nullptr;
      done(rc, nullptr);
    });
  }
}

std::string address_text(const sockaddr& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.sa_family == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&address), text, sizeof text);
  } else if (address.sa_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&address), text, sizeof text);
  }
  return text;
}

bool is_ip_address(const std::string& text) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), address) == 1 || inet_pton(AF_INET6, text.c_str(), address) == 1;
}

}  // namespace ouroboros::io
