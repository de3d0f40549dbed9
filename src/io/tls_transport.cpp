#include "io/tls_transport.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "io/event_loop.h"
#include "io/host_resolver.h"

namespace ouroboros::io {

namespace {
constexpr std::size_t kDefaultInputLimit = 64u << 20;
constexpr std::size_t kRecordSize = 16 * 1024;  // the largest TLS record's plaintext
// Plaintext per SSL_write: three full records, whose ciphertext fits the pool's 64 KiB block.
constexpr std::size_t kWriteChunk = 3 * kRecordSize;

// OpenSSL's error queue must be empty before an SSL call whose failure SSL_get_error explains.
// Looking costs a fraction of clearing (which walks every slot), and it is nearly always empty.
void clear_openssl_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

// RFC 5929 tls-server-end-point: the certificate hashed with its signature's hash function,
// SHA-256 when that is MD5 or SHA-1 (or unknown).
Bytes end_point_hash(X509* cert) {
  if (!cert) return {};
  int md_nid = NID_undef;
  if (!OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, nullptr)) md_nid = NID_undef;
  const EVP_MD* md = nullptr;
  if (md_nid != NID_undef && md_nid != NID_md5 && md_nid != NID_sha1)
    md = EVP_get_digestbynid(md_nid);
  if (!md) md = EVP_sha256();
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, md, hash, &length) != 1) return {};
  return Bytes(hash, hash + length);
}

std::string common_name(X509* cert) {
  X509_NAME* subject = cert ? X509_get_subject_name(cert) : nullptr;
  if (!subject) return {};
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return {};
  std::string name(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return name;
}
}  // namespace

TlsTransport::TlsTransport(std::unique_ptr<Transport> inner, const TlsContext& context,
                           TlsOptions options, BufferPool* pool)
    : inner_(std::move(inner)),
      options_(std::move(options)),
      input_(kDefaultInputLimit, pool),
      ciphertext_(pool),
      server_role_(context.server_role()) {
  inner_->set_handler(this);
  reading_ = inner_->reading();
  open_ = inner_->is_open();
  ssl_ = SSL_new(context.raw());
  if (!ssl_) return;
  BIO* bio = ciphertext_.make_bio();
  if (!bio) {
    SSL_free(std::exchange(ssl_, nullptr));
    return;
  }
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: one reference taken
  if (EventLoop* loop = inner_->event_loop())
    sweeper_ = &loop->tls_buffers();
  else
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  // OpenSSL takes all the ciphertext there is in one read (not a record header, then its body).
  SSL_set_read_ahead(ssl_, 1);
  if (server_role_) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!options_.server_name.empty() && !is_ip_address(options_.server_name))
    SSL_set_tlsext_host_name(ssl_, options_.server_name.c_str());
  if (options_.verify_host) {
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    // An IP address is checked against the certificate's IP SANs, a name against its DNS names.
    if (is_ip_address(options_.server_name))
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), options_.server_name.c_str());
    else
      SSL_set1_host(ssl_, options_.server_name.c_str());
  }
}

TlsTransport::~TlsTransport() {
  close();
  if (sweeper_) sweeper_->forget(sweeper_slot_);
  if (ssl_) SSL_free(ssl_);
}

std::string TlsTransport::start() {
  if (!open_) return "connection closed before the TLS handshake";
  if (!ssl_) {
    open_ = false;
    inner_->close();
    return "cannot create a TLS session: " + openssl_error_text("out of memory");
  }
  inner_->start_reading();  // the handshake reads whatever the owner's reading state
  InputBuffer& early = inner_->input();
  std::size_t taken = 0;
  Progress progress = process(early.view(), taken);
  early.consume(taken);
  if (progress.error.empty() && progress.closed_by_peer)
    progress.error = "connection closed by peer";
  if (!progress.error.empty()) {
    open_ = false;
    handshake_finished(false, progress.error);
    inner_->close_after_flush();  // the alert, if any, goes out
    return progress.error;
  }
  return {};
}

void TlsTransport::start_reading() {
  if (!open_ || reading_) return;
  reading_ = true;
  inner_->start_reading();
}

void TlsTransport::stop_reading() {
  if (!open_ || !reading_) return;
  reading_ = false;
  if (handshake_done_) inner_->stop_reading();
}

bool TlsTransport::send(ByteView data) {
  if (!open_) return false;
  if (data.empty()) return true;
  if (!handshake_done_) {
    held_.insert(held_.end(), data.begin(), data.end());
    return true;
  }
  clear_openssl_errors();
  // The BIO takes every record, so SSL_write writes the whole chunk (records of up to 16 KiB).
  while (!data.empty()) {
    std::size_t written = 0;
    if (SSL_write_ex(ssl_, data.data(), std::min(data.size(), kWriteChunk), &written) != 1) {
      ciphertext_.release_output();
      fail("TLS write failed: " + openssl_error_text("internal error"));
      return false;
    }
    data = data.subspan(written);
    note_used();
    if (!flush_output()) return false;
  }
  return true;
}

bool TlsTransport::flush_output() {
  ByteView out = ciphertext_.output();
  if (out.empty()) return inner_->is_open();
  bool sent = inner_->send(out);  // copies only what the socket does not take at once
  ciphertext_.release_output();
  return sent;
}

TlsTransport::Progress TlsTransport::process(ByteView ciphertext, std::size_t& taken) {
  Progress progress;
  ciphertext_.set_input(ciphertext);
  bool more = true;
  if (!handshake_done_) more = finish_handshake(progress);
  // Read while OpenSSL has ciphertext left, received or buffered: a call that could only answer
  // "want read" costs as much as a record.
  while (more && (!ciphertext_.input().empty() || SSL_has_pending(ssl_))) {
    auto tail = input_.tail(kRecordSize);
    if (tail.empty()) {
      progress.error = "input buffer limit exceeded";
      break;
    }
    clear_openssl_errors();
    std::size_t n = 0;
    int result = SSL_read_ex(ssl_, tail.data(), tail.size(), &n);
    if (result == 1) {
      input_.commit(n);
      progress.plaintext = true;
      continue;
    }
    int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_ZERO_RETURN)
      progress.closed_by_peer = true;
    else
      progress.error = openssl_error_text("TLS connection failed");
    break;
  }
  taken = ciphertext.size() - ciphertext_.input().size();
  ciphertext_.set_input({});
  note_used();
  flush_output();  // handshake messages, TLS 1.3 post-handshake messages, alerts
  return progress;
}

bool TlsTransport::finish_handshake(Progress& progress) {
  clear_openssl_errors();
  int result = SSL_do_handshake(ssl_);
  if (result != 1) {
    int error = SSL_get_error(ssl_, result);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
      progress.error = handshake_error(result);
    return false;
  }
  if (options_.require_alpn) {
    const unsigned char* protocol = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl_, &protocol, &length);
    if (length == 0) {
      progress.error = "direct TLS connection without ALPN \"postgresql\"";
      return false;
    }
  }
  handshake_done_ = true;
  server_end_point_ =
      end_point_hash(server_role_ ? SSL_get_certificate(ssl_) : SSL_get0_peer_certificate(ssl_));
  handshake_finished(true, {});
  if (!reading_) inner_->stop_reading();
  if (!held_.empty()) {
    Bytes held = std::move(held_);
    held_.clear();
    std::size_t written = 0;
    if (SSL_write_ex(ssl_, held.data(), held.size(), &written) != 1) {
      progress.error = "TLS write failed: " + openssl_error_text("internal error");
      return false;
    }
  }
  return true;
}

std::string TlsTransport::handshake_error(int result) const {
  long verify = SSL_get_verify_result(ssl_);
  unsigned long code = ERR_peek_error();
  if (verify != X509_V_OK && code != 0 && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    ERR_clear_error();
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  }
  if (code == 0 && result == 0) return "connection closed during the TLS handshake";
  return openssl_error_text("TLS handshake failed");
}

void TlsTransport::handshake_finished(bool ok, std::string_view error) {
  if (handshake_reported_) return;
  handshake_reported_ = true;
  if (options_.on_handshake) options_.on_handshake(ok, error);
}

void TlsTransport::on_readable(InputBuffer& ciphertext) {
  std::size_t taken = 0;
  Progress progress = process(ciphertext.view(), taken);
  ciphertext.consume(taken);
  if (progress.plaintext && reading_ && handler_) handler_->on_readable(input_);
  // The handler may have closed this transport (destruction is deferred, so it is alive).
  if (!open_) return;
  if (!progress.error.empty()) return fail(progress.error);
  if (progress.closed_by_peer) return fail("connection closed by peer");
  input_.release_if_empty();
}

void TlsTransport::on_drained() {
  if (handler_ && open_) handler_->on_drained();
}

void TlsTransport::on_transport_closed(std::string_view reason) {
  if (!open_) return;
  open_ = false;
  reading_ = false;
  std::string why(reason);
  if (!handshake_done_) why = "connection closed during the TLS handshake: " + why;
  handshake_finished(false, why);
  if (handler_) handler_->on_transport_closed(why);
}

void TlsTransport::close_after_flush() {
  if (!open_) return;
  open_ = false;
  reading_ = false;
  if (handshake_done_) {
    SSL_shutdown(ssl_);  // close_notify
    note_used();
    flush_output();
  }
  inner_->close_after_flush();
}

void TlsTransport::close() {
  if (!inner_) return;
  open_ = false;
  reading_ = false;
  inner_->close();
}

void TlsTransport::fail(std::string_view reason) {
  if (!open_) return;
  open_ = false;
  reading_ = false;
  handshake_finished(false, reason);
  TransportHandler* handler = handler_;
  // An alert OpenSSL queued (a handshake failure) reaches the peer before the socket closes.
  inner_->close_after_flush();
  if (handler) handler->on_transport_closed(reason);
}

std::optional<TlsInfo> TlsTransport::tls_info() const {
  if (!handshake_done_) return std::nullopt;
  TlsInfo info;
  info.version = SSL_get_version(ssl_);
  info.cipher = SSL_get_cipher_name(ssl_);
  X509* peer = SSL_get0_peer_certificate(ssl_);
  info.peer_certificate = peer != nullptr;
  info.peer_common_name = common_name(peer);
  info.server_end_point = server_end_point_;
  return info;
}

}  // namespace ouroboros::io
