#pragma once
// A byte stream under a connection state machine: plain TCP or TLS over it, same interface.
// Callbacks go to one TransportHandler; after close() no callback is made.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "io/input_buffer.h"

namespace ouroboros::io {

class EventLoop;

class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // New bytes are in `input`; consume what you used, leave partial messages there.
  virtual void on_readable(InputBuffer& input) = 0;
  // Queued output fell to the low-water mark after having exceeded the high-water mark.
  virtual void on_drained() = 0;
  // The peer closed or an error occurred; the transport is already closed.
  virtual void on_transport_closed(std::string_view reason) = 0;
};

// What a TLS transport negotiated (for SHOW CLIENTS/SERVERS, host-based rules and SCRAM-PLUS).
struct TlsInfo {
  std::string version;           // "TLSv1.3"
  std::string cipher;            // "TLS_AES_256_GCM_SHA384"
  bool peer_certificate = false;  // the peer presented a certificate (verified when it was asked for)
  std::string peer_common_name;  // its subject CN, "" without one
  // tls-server-end-point channel binding data (RFC 5929): the hash of the server's certificate
  // (ours in the server role, the peer's in the client role); empty when there is none.
  Bytes server_end_point;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void set_handler(TransportHandler* handler) = 0;
  virtual void start_reading() = 0;
  virtual void stop_reading() = 0;
  virtual bool reading() const = 0;
  // Sends bytes: at once when nothing is queued and the socket takes them all, else queued.
  // Returns false if the transport is closed. Bytes written at once never queue, so they never
  // lead to on_drained().
  virtual bool write(Bytes data) = 0;
  // The same for bytes the caller keeps (a scratch buffer it reuses): only what the socket does
  // not take at once is copied.
  virtual bool send(ByteView data) { return write(Bytes(data.begin(), data.end())); }
  virtual std::size_t queued_bytes() const = 0;
  // Above this many queued bytes the relay stops reading the other side; on_drained() fires
  // once the queue falls to a quarter of it.
  virtual void set_high_water(std::size_t bytes) = 0;
  virtual bool above_high_water() const = 0;
  // Closes once queued bytes are sent (e.g. after a final ErrorResponse).
  virtual void close_after_flush() = 0;
  // Closes now, dropping queued bytes. Idempotent; no callbacks afterwards.
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  virtual std::string peer_address() const = 0;
  // For host-based rules: a Unix-domain socket client, and the peer's IP address without port
  // ("" for Unix sockets).
  virtual bool is_unix_socket() const { return false; }
  virtual std::string peer_ip() const { return ""; }
  virtual void set_input_limit(std::size_t bytes) = 0;
  // Bytes received and not yet consumed by the handler.
  virtual InputBuffer& input() = 0;
  // Set once a TLS handshake completed; nullopt for plain text.
  virtual std::optional<TlsInfo> tls_info() const { return std::nullopt; }
  // The loop a socket transport runs on (for a TLS transport over it); null for others.
  virtual EventLoop* event_loop() const { return nullptr; }
};

}  // namespace ouroboros::io
