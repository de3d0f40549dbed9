#include "proxy/cancel_forwarder.h"

#include "protocol/messages.h"

namespace ouroboros::proxy {

namespace {
// PostgreSQL reads the request and closes at once; this only bounds a server that never answers
// (frozen, or its accept queue not served), long enough that a stall of a few seconds still ends
// in a delivered cancel.
constexpr Duration kCancelTimeout = std::chrono::seconds(30);
}  // namespace

CancelForwarder::CancelForwarder(io::EventLoop& loop, std::string host, std::uint16_t port, std::int32_t pid,
                                 std::int32_t key, Done done)
    : loop_(loop), host_(std::move(host)), port_(port), pid_(pid), key_(key), done_(std::move(done)), timer_(loop) {}

void CancelForwarder::start() {
  timer_.start(kCancelTimeout, [this] { finish(written_ ? Outcome::Unknown : Outcome::NotSent); });
  connector_ = std::make_unique<io::TcpConnector>(
      loop_, host_, port_, [this](std::unique_ptr<io::TcpTransport> t, std::string) {
        if (!t) return finish(Outcome::NotSent);
        transport_ = std::move(t);
        transport_->set_handler(this);
        Bytes out;
        protocol::encode_cancel_request(out, pid_, key_);
        transport_->write(std::move(out));
        written_ = true;
        transport_->start_reading();  // the server closes the connection after reading it
      });
  connector_->start();
}

void CancelForwarder::finish(Outcome outcome) {
  if (!done_) return;
  timer_.stop();
  if (transport_) transport_->close();
  auto done = std::move(done_);
  done_ = nullptr;
  done(*this, outcome);
}

}  // namespace ouroboros::proxy
