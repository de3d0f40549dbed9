#include "io/tcp_connector.h"

#include <sys/un.h>

#include "io/unix_listener.h"

namespace ouroboros::io {

struct TcpConnector::Connect {
  uv_connect_t req{};
  TcpConnector* owner = nullptr;
};

void TcpConnector::connect_done(uv_connect_t* req, int status) {
  auto* c = static_cast<Connect*>(req->data);
  TcpConnector* owner = c->owner;
  delete c;
  if (!owner) return;  // the connector is gone
  owner->connect_ = nullptr;
  owner->on_connected(status);
}

TcpConnector::TcpConnector(EventLoop& loop, std::string host, std::uint16_t port, OnDone on_done)
    : loop_(loop), host_(std::move(host)), port_(port), on_done_(std::move(on_done)), resolver_(loop) {}

TcpConnector::~TcpConnector() {
  if (connect_) connect_->owner = nullptr;  // answered with ECANCELED when attempt_ closes
  attempt_.reset();
  if (addresses_) uv_freeaddrinfo(addresses_);
}

void TcpConnector::start() {
  if (!host_.empty() && host_[0] == '/') return connect_unix();
  resolver_.resolve(host_, std::to_string(port_), [this](int status, addrinfo* addresses) {
    on_resolved(status, addresses);
  });
}

void TcpConnector::on_resolved(int status, addrinfo* result) {
  if (status != 0) {
    finish(nullptr, "could not resolve \"" + host_ + "\": " + uv_strerror(status));
    return;
  }
  addresses_ = result;
  next_ = result;
  try_next();
}

void TcpConnector::try_next() {
  while (next_) {
    addrinfo* ai = next_;
    next_ = next_->ai_next;
    attempt_ = std::make_unique<TcpTransport>(loop_);
    connect_ = new Connect;
    connect_->owner = this;
    connect_->req.data = connect_;
    int rc = uv_tcp_connect(&connect_->req, attempt_->handle(), ai->ai_addr, connect_done);
    if (rc == 0) return;
    delete connect_;
    connect_ = nullptr;
    last_error_ = uv_strerror(rc);
  }
  finish(nullptr, "could not connect to " + host_ + ":" + std::to_string(port_) + ": " +
                      (last_error_.empty() ? "no address" : last_error_));
}

// A host that begins with '/' is a directory holding PostgreSQL's socket, as in libpq.
void TcpConnector::connect_unix() {
  unix_path_ = UnixListener::socket_path(host_, port_);
  if (unix_path_.size() >= sizeof(sockaddr_un{}.sun_path)) {
    std::string error = "Unix socket path \"" + unix_path_ + "\" is too long";
    loop_.defer([this, error] { finish(nullptr, error); });
    return;
  }
  attempt_ = std::make_unique<TcpTransport>(loop_, true);
  connect_ = new Connect;
  connect_->owner = this;
  connect_->req.data = connect_;
  uv_pipe_connect(&connect_->req, attempt_->pipe(), unix_path_.c_str(), connect_done);
}

void TcpConnector::on_connected(int status) {
  if (status != 0 && !unix_path_.empty()) {
    attempt_.reset();
    finish(nullptr,
           "could not connect to Unix socket \"" + unix_path_ + "\": " + uv_strerror(status));
    return;
  }
  if (status != 0) {
    last_error_ = uv_strerror(status);
    attempt_.reset();
    try_next();
    return;
  }
  attempt_->mark_connected();
  finish(std::move(attempt_), "");
}

void TcpConnector::finish(std::unique_ptr<TcpTransport> transport, std::string error) {
  if (!on_done_) return;
  auto done = std::move(on_done_);
  on_done_ = nullptr;
  done(std::move(transport), std::move(error));  // may destroy this
}

}  // namespace ouroboros::io
