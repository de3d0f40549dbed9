#include "io/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace ouroboros::io {

namespace {
constexpr unsigned char kAlpnPostgres[] = {10, 'p', 'o', 's', 't', 'g', 'r', 'e', 's', 'q', 'l'};
constexpr unsigned char kSessionContext[] = "ouroboros";

// As PostgreSQL 17: a client that offers ALPN must offer "postgresql"; one that offers none is
// let in (direct TLS, which requires it, is checked after the handshake).
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, kAlpnPostgres, sizeof(kAlpnPostgres), in, in_len) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

SSL_CTX* new_context(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Idle connections keep no read/write buffers: TlsTransport frees them (TlsBufferSweeper).
  return ctx;
}

std::string load_pair(SSL_CTX* ctx, const std::string& cert_file, const std::string& key_file) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1)
    return "cannot load certificate file \"" + cert_file +
           "\": " + openssl_error_text("unreadable");
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return "cannot load private key file \"" + key_file + "\": " + openssl_error_text("unreadable");
  if (SSL_CTX_check_private_key(ctx) != 1)
    return "private key file \"" + key_file + "\" does not match certificate file \"" + cert_file +
           "\"";
  return {};
}

TlsContextResult failed(SSL_CTX* ctx, std::string error) {
  SSL_CTX_free(ctx);
  return {nullptr, std::move(error)};
}
}  // namespace

std::string openssl_error_text(const std::string& fallback) {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  if (reason) return reason;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

TlsContextResult TlsContext::server(const TlsServerFiles& files) {
  ERR_clear_error();
  SSL_CTX* ctx = new_context(TLS_server_method());
  if (!ctx) return {nullptr, "cannot create a TLS context: " + openssl_error_text("out of memory")};
  if (auto error = load_pair(ctx, files.cert_file, files.key_file); !error.empty())
    return failed(ctx, error);
  if (!files.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.ca_file.c_str(), nullptr) != 1)
      return failed(ctx, "cannot load CA file \"" + files.ca_file +
                             "\": " + openssl_error_text("unreadable"));
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_file.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    ERR_clear_error();
  }
  int verify = SSL_VERIFY_NONE;
  if (files.client_certificate == PeerCertificate::Optional) verify = SSL_VERIFY_PEER;
  if (files.client_certificate == PeerCertificate::Required)
    verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, verify, nullptr);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  return {std::shared_ptr<TlsContext>(new TlsContext(ctx, true)), {}};
}

TlsContextResult TlsContext::client(const TlsClientFiles& files) {
  ERR_clear_error();
  SSL_CTX* ctx = new_context(TLS_client_method());
  if (!ctx) return {nullptr, "cannot create a TLS context: " + openssl_error_text("out of memory")};
  if (!files.cert_file.empty() || !files.key_file.empty()) {
    if (auto error = load_pair(ctx, files.cert_file, files.key_file); !error.empty())
      return failed(ctx, error);
  }
  if (files.verify_peer) {
    int ok = files.ca_file.empty()
                 ? SSL_CTX_set_default_verify_paths(ctx)
                 : SSL_CTX_load_verify_locations(ctx, files.ca_file.c_str(), nullptr);
    if (ok != 1)
      return failed(ctx, "cannot load CA file \"" + files.ca_file +
                             "\": " + openssl_error_text("unreadable"));
  }
  SSL_CTX_set_verify(ctx, files.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // PostgreSQL 17 checks it when given; older servers ignore it.
  SSL_CTX_set_alpn_protos(ctx, kAlpnPostgres, sizeof(kAlpnPostgres));
  return {std::shared_ptr<TlsContext>(new TlsContext(ctx, false)), {}};
}

}  // namespace ouroboros::io
