#pragma once
// TLS over another Transport (plain TCP), driven by the event loop: ciphertext goes through a BIO
// over plain buffers (CiphertextBio), so no OpenSSL call ever blocks or touches a socket. The
// connection state machines see the same Transport interface as for plain TCP: plaintext in
// input(), write()/send(), backpressure on the ciphertext queued below, close_after_flush() with a
// close_notify first.
#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>

#include "io/ciphertext_bio.h"
#include "io/tls_buffer_sweeper.h"
#include "io/tls_context.h"
#include "io/transport.h"

namespace ouroboros::io {

class BufferPool;

struct TlsOptions {
  // Client role: the name sent as SNI (never for an IP address) and, with verify_host, the name
  // the certificate must carry.
  std::string server_name;
  bool verify_host = false;
  // Server role, PostgreSQL 17 direct TLS: the client must have negotiated ALPN "postgresql".
  bool require_alpn = false;
  // Called once: the handshake completed (ok) or failed (with why).
  std::function<void(bool ok, std::string_view error)> on_handshake;
};

class TlsTransport final : public Transport, private TransportHandler {
 public:
  // Takes over `inner` (its handler becomes this transport). `pool` lends the plaintext buffer
  // and the block each operation's ciphertext is gathered in.
  TlsTransport(std::unique_ptr<Transport> inner, const TlsContext& context, TlsOptions options,
               BufferPool* pool);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  // Starts the handshake with any ciphertext the inner transport already holds (a direct-TLS
  // ClientHello). Returns "" or why it failed; on failure the transport is closed (after a TLS
  // alert, when there is one) and no callback is made. Writes before the handshake completes
  // are held and sent after it.
  std::string start();
  bool handshake_done() const { return handshake_done_; }

  void set_handler(TransportHandler* handler) override { handler_ = handler; }
  void start_reading() override;
  void stop_reading() override;
  bool reading() const override { return reading_; }
  bool write(Bytes data) override { return send(data); }
  // One SSL_write per call (per 48 KiB), so a relay step's batch of messages shares its records;
  // the records go to the inner transport in one send.
  bool send(ByteView data) override;
  std::size_t queued_bytes() const override { return inner_->queued_bytes() + held_.size(); }
  void set_high_water(std::size_t bytes) override { inner_->set_high_water(bytes); }
  bool above_high_water() const override { return inner_->above_high_water(); }
  void close_after_flush() override;
  void close() override;
  bool is_open() const override { return open_; }
  std::string peer_address() const override { return inner_->peer_address(); }
  bool is_unix_socket() const override { return inner_->is_unix_socket(); }
  std::string peer_ip() const override { return inner_->peer_ip(); }
  void set_input_limit(std::size_t bytes) override { input_.set_limit(bytes); }
  InputBuffer& input() override { return input_; }
  std::optional<TlsInfo> tls_info() const override;

 private:
  // TransportHandler, for the inner transport.
  void on_readable(InputBuffer& ciphertext) override;
  void on_drained() override;
  void on_transport_closed(std::string_view reason) override;

  struct Progress {
    bool plaintext = false;  // input_ received bytes
    bool closed_by_peer = false;
    std::string error;  // non-empty: the connection must end
  };
  // Lets OpenSSL read from `ciphertext`, advances the handshake, decrypts into input_, sends
  // output. Returns how many ciphertext bytes OpenSSL took (the rest stays for the next read).
  Progress process(ByteView ciphertext, std::size_t& taken);
  bool finish_handshake(Progress& progress);
  std::string handshake_error(int result) const;
  bool flush_output();
  void handshake_finished(bool ok, std::string_view error);
  void fail(std::string_view reason);
  // After every OpenSSL operation: the loop's sweeper frees OpenSSL's buffers once it is quiet.
  void note_used() {
    if (sweeper_) sweeper_->used(ssl_, sweeper_slot_);
  }

  std::unique_ptr<Transport> inner_;
  TransportHandler* handler_ = nullptr;
  TlsOptions options_;
  InputBuffer input_;
  CiphertextBio ciphertext_;  // outlives ssl_, which owns the BIO over it
  SSL* ssl_ = nullptr;
  // The inner transport's loop's; without one OpenSSL frees its buffers after every record.
  TlsBufferSweeper* sweeper_ = nullptr;
  std::size_t sweeper_slot_ = TlsBufferSweeper::kNotListed;
  bool server_role_;
  bool handshake_done_ = false;
  bool handshake_reported_ = false;
  bool reading_ = false;
  bool open_ = false;
  Bytes held_;  // plaintext written before the handshake completed
  Bytes server_end_point_;
};

}  // namespace ouroboros::io
