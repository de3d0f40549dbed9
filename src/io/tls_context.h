#pragma once
// An OpenSSL SSL_CTX loaded from certificate and key files: one for the listener (server role),
// one per database that uses TLS (client role). TLS 1.2 or newer. Loading reports errors as
// values; a context is immutable once made, so a reload makes a new one and connections already
// running keep the one they started with (OpenSSL counts references to it).
#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace ouroboros::io {

enum class PeerCertificate { None, Optional, Required };

struct TlsServerFiles {
  std::string cert_file;
  std::string key_file;
  std::string ca_file;  // verifies client certificates; required unless client_certificate is None
  PeerCertificate client_certificate = PeerCertificate::None;
};

struct TlsClientFiles {
  std::string ca_file;    // "" = the system's trusted certificates
  std::string cert_file;  // optional client certificate
  std::string key_file;
  bool verify_peer = false;  // verify-ca and verify-full: the chain must verify
};

class TlsContext;

struct TlsContextResult {
  std::shared_ptr<TlsContext> context;  // null on error
  std::string error;
};

class TlsContext {
 public:
  static TlsContextResult server(const TlsServerFiles& files);
  static TlsContextResult client(const TlsClientFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* raw() const { return ctx_; }
  bool server_role() const { return server_role_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server_role) : ctx_(ctx), server_role_(server_role) {}
  SSL_CTX* ctx_;
  bool server_role_;
};

// The text of the oldest queued OpenSSL error (and clears the queue), or `fallback`.
std::string openssl_error_text(const std::string& fallback);

}  // namespace ouroboros::io
