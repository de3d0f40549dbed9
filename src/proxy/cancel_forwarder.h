#pragma once
// Sends one CancelRequest to a PostgreSQL server on a fresh connection. Owned by the Proxy, so
// none outlives it; each ends when the server closes the connection, on error, or after a
// timeout, and then reports to its owner how it ended. PostgreSQL closes the connection only
// after it has signalled the backend (twice: the backend and its process group), so `Delivered`
// means no signal of this cancel can come any more.
#include <functional>
#include <memory>
#include <string>

#include "io/event_loop.h"
#include "io/tcp_connector.h"
#include "io/timer.h"

namespace ouroboros::proxy {

class CancelForwarder final : public io::TransportHandler {
 public:
  enum class Outcome {
    Delivered,  // the request was written and PostgreSQL closed the connection
    NotSent,    // no connection, or it failed before the request was written: nothing will come
    Unknown,    // written, but PostgreSQL did not close the connection in time: it may still act
  };
  using Done = std::function<void(CancelForwarder&, Outcome)>;

  CancelForwarder(io::EventLoop& loop, std::string host, std::uint16_t port, std::int32_t pid, std::int32_t key,
                  Done done);
  void start();

  void on_readable(io::InputBuffer& input) override { input.consume(input.size()); }
  void on_drained() override {}
  void on_transport_closed(std::string_view) override { finish(written_ ? Outcome::Delivered : Outcome::NotSent); }

 private:
  void finish(Outcome outcome);

  io::EventLoop& loop_;
  std::string host_;
  std::uint16_t port_;
  std::int32_t pid_;
  std::int32_t key_;
  Done done_;
  io::Timer timer_;
  std::unique_ptr<io::TcpConnector> connector_;
  std::unique_ptr<io::Transport> transport_;
  bool written_ = false;
};

}  // namespace ouroboros::proxy
