#include "proxy/cancel_forwarder.h"

#include "protocol/messages.h"

namespace ouroboros::proxy {

namespace {
// Keeps the connector and then the connection alive until the request is written.
struct CancelForwarder : io::TransportHandler {
  std::unique_ptr<io::TcpConnector> connector;
  std::unique_ptr<io::Transport> transport;
  io::EventLoop* loop = nullptr;

  void destroy() {
    loop->defer([this] { delete this; });
  }
  void on_readable(io::InputBuffer& input) override { input.consume(input.size()); }
  void on_drained() override {}
  void on_transport_closed(std::string_view) override { destroy(); }
};
}  // namespace

void forward_cancel(io::EventLoop& loop, const std::string& host, std::uint16_t port,
                    std::int32_t pid, std::int32_t key) {
  auto* f = new CancelForwarder;
  f->loop = &loop;
  f->connector = std::make_unique<io::TcpConnector>(
      loop, host, port, [f, pid, key](std::unique_ptr<io::TcpTransport> t, std::string) {
        if (!t) {
          f->destroy();
          return;
        }
        f->transport = std::move(t);
        f->transport->set_handler(f);
        Bytes out;
        protocol::encode_cancel_request(out, pid, key);
        f->transport->write(std::move(out));
        // The server closes the connection after reading the request.
        f->transport->start_reading();
      });
  f->connector->start();
}

}  // namespace ouroboros::proxy
