#pragma once
// Plain-text Transport over a libuv stream: a TCP connection or a Unix-domain socket.
#include <memory>
#include <string>

#include "io/event_loop.h"
#include "io/transport.h"
#include "io/uv_handle.h"

namespace ouroboros::io {

// The handle under a stream transport; `data` aliases the first field of every libuv handle.
union UvStreamHandle {
  uv_tcp_t tcp;
  uv_pipe_t pipe;
  void* data;
};

class TcpTransport final : public Transport {
 public:
  // `unix_socket`: the handle is a uv_pipe_t (a Unix-domain socket) instead of TCP.
  explicit TcpTransport(EventLoop& loop, bool unix_socket = false);
  ~TcpTransport() override;

  uv_tcp_t* handle() { return &handle_.get()->tcp; }
  uv_pipe_t* pipe() { return &handle_.get()->pipe; }
  uv_stream_t* stream() { return handle_.as_stream(); }
  // For the listener/connector that set the handle up.
  void mark_connected();

  void set_handler(TransportHandler* handler) override { handler_ = handler; }
  void start_reading() override;
  void stop_reading() override;
  bool reading() const override { return reading_; }
  bool write(Bytes data) override;
  bool send(ByteView data) override;
  std::size_t queued_bytes() const override { return queued_; }
  void set_high_water(std::size_t bytes) override { high_water_ = bytes; }
  bool above_high_water() const override { return queued_ > high_water_; }
  void close_after_flush() override;
  void close() override;
  bool is_open() const override { return open_; }
  std::string peer_address() const override { return peer_; }
  bool is_unix_socket() const override { return unix_socket_; }
  std::string peer_ip() const override { return peer_ip_; }
  void set_input_limit(std::size_t bytes) override { input_.set_limit(bytes); }
  InputBuffer& input() override { return input_; }
  EventLoop* event_loop() const override { return loop_; }

 private:
  struct WriteRequest;
  using Handle = UvHandle<UvStreamHandle>;
  void on_read(ssize_t nread);
  void on_write_done(std::size_t bytes, int status);
  void fail(std::string_view reason);

  Handle handle_;
  EventLoop* loop_;
  TransportHandler* handler_ = nullptr;
  InputBuffer input_;
  std::size_t queued_ = 0;
  std::size_t high_water_ = 1u << 20;
  bool was_above_ = false;
  bool reading_ = false;
  bool open_ = false;
  bool unix_socket_ = false;
  std::string peer_;
  std::string peer_ip_;
};

}  // namespace ouroboros::io
