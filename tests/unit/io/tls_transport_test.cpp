// TlsTransport between two in-memory peers: handshake, data both ways, held writes, certificate
// failures, close_notify. Certificates are made here with the OpenSSL API.
#include "io/tls_transport.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/buffer_pool.h"
#include "io/event_loop.h"

using namespace ouroboros;
using namespace ouroboros::io;

namespace {

// A Transport whose written bytes wait in an outbox until the test moves them to the peer.
class MemoryTransport final : public Transport {
 public:
  Bytes outbox;
  int writes = 0;             // calls that wrote bytes
  EventLoop* loop = nullptr;  // as a socket's: TLS buffers freed by its sweeper
  bool flushed_close = false;
  void set_handler(TransportHandler* handler) override { handler_ = handler; }
  void start_reading() override { reading_ = true; }
  void stop_reading() override { reading_ = false; }
  bool reading() const override { return reading_; }
  bool write(Bytes data) override {
    if (!open_) return false;
    append(outbox, data);
    if (!data.empty()) ++writes;
    return true;
  }
  std::size_t queued_bytes() const override { return outbox.size(); }
  void set_high_water(std::size_t bytes) override { high_water_ = bytes; }
  bool above_high_water() const override { return outbox.size() > high_water_; }
  // The peer took everything: as a socket whose queue drained.
  void drained() {
    if (handler_) handler_->on_drained();
  }
  void close_after_flush() override {
    open_ = false;
    flushed_close = true;
  }
  void close() override { open_ = false; }
  bool is_open() const override { return open_; }
  std::string peer_address() const override { return "memory"; }
  void set_input_limit(std::size_t bytes) override { input_.set_limit(bytes); }
  InputBuffer& input() override { return input_; }
  EventLoop* event_loop() const override { return loop; }

  // Bytes from the peer arrive.
  void deliver(ByteView bytes) {
    auto tail = input_.tail(bytes.size());
    std::copy(bytes.begin(), bytes.end(), tail.begin());
    input_.commit(bytes.size());
    if (handler_) handler_->on_readable(input_);
  }
  // The peer's socket closed.
  void peer_closed() {
    if (!open_) return;
    open_ = false;
    if (handler_) handler_->on_transport_closed("connection closed by peer");
  }

 private:
  TransportHandler* handler_ = nullptr;
  InputBuffer input_{1u << 26};
  bool reading_ = false;
  bool open_ = true;
  std::size_t high_water_ = 1u << 20;
};

struct Recorder final : TransportHandler {
  std::string received;
  std::string closed;
  int drained = 0;
  void on_readable(InputBuffer& input) override {
    received.append(reinterpret_cast<const char*>(input.view().data()), input.size());
    input.consume(input.size());
  }
  void on_drained() override { ++drained; }
  void on_transport_closed(std::string_view reason) override { closed = std::string(reason); }
};

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/ouro_tls_test_XXXXXX";
  int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
  return name;
}

std::string pem_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return text;
}

// A self-signed certificate for `name` (CN and DNS SAN) with its key, as files.
struct CertificateFiles {
  std::string cert, key;
  explicit CertificateFiles(const std::string& name) {
    EVP_PKEY* key_pair = EVP_EC_gen("P-256");
    REQUIRE(key_pair);
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), std::rand());
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key_pair);
    X509_NAME* subject = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, subject);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    std::string san = "DNS:" + name;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key_pair, EVP_sha256());
    cert = write_temp(pem_of(x));
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key_pair, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    key = write_temp(std::string(data, static_cast<std::size_t>(n)));
    BIO_free(bio);
    X509_free(x);
    EVP_PKEY_free(key_pair);
  }
  ~CertificateFiles() {
    std::remove(cert.c_str());
    std::remove(key.c_str());
  }
};

struct Pair {
  MemoryTransport* client_raw;
  MemoryTransport* server_raw;
  std::unique_ptr<TlsTransport> client, server;
  Recorder client_events, server_events;
  std::string client_handshake = "pending", server_handshake = "pending";

  Pair(const TlsContext& client_context, const TlsContext& server_context,
       TlsOptions client_options, BufferPool* pool = nullptr, EventLoop* loop = nullptr) {
    auto c = std::make_unique<MemoryTransport>();
    auto s = std::make_unique<MemoryTransport>();
    c->loop = loop;
    s->loop = loop;
    client_raw = c.get();
    server_raw = s.get();
    client_options.on_handshake = [this](bool ok, std::string_view error) {
      client_handshake = ok ? "ok" : std::string(error);
    };
    TlsOptions server_options;
    server_options.on_handshake = [this](bool ok, std::string_view error) {
      server_handshake = ok ? "ok" : std::string(error);
    };
    client = std::make_unique<TlsTransport>(std::move(c), client_context, client_options, pool);
    server = std::make_unique<TlsTransport>(std::move(s), server_context, server_options, pool);
    client->set_handler(&client_events);
    server->set_handler(&server_events);
    client->start_reading();
    server->start_reading();
    CHECK(server->start() == "");
    CHECK(client->start() == "");
  }
  // Moves bytes both ways until neither side has anything to send.
  void pump() {
    for (int round = 0; round < 100; ++round) {
      if (client_raw->outbox.empty() && server_raw->outbox.empty()) return;
      Bytes to_server = std::move(client_raw->outbox);
      client_raw->outbox.clear();
      if (!to_server.empty() && server_raw->is_open()) server_raw->deliver(to_server);
      Bytes to_client = std::move(server_raw->outbox);
      server_raw->outbox.clear();
      if (!to_client.empty() && client_raw->is_open()) client_raw->deliver(to_client);
    }
    FAIL("the peers never went quiet");
  }
};

Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

TlsClientFiles trusting(const CertificateFiles& ca) {
  TlsClientFiles files;
  files.ca_file = ca.cert;
  files.verify_peer = true;
  return files;
}
}  // namespace

TEST_CASE("a handshake over memory peers, then data both ways; writes before it are held") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  REQUIRE(server.context);
  auto client = TlsContext::client(trusting(server_cert));
  REQUIRE(client.context);
  TlsOptions options;
  options.server_name = "db.test";
  options.verify_host = true;
  Pair pair(*client.context, *server.context, options);
  CHECK_FALSE(pair.client->tls_info());
  CHECK(pair.client->write(text("early")));  // held until the handshake completes
  CHECK(pair.client->queued_bytes() == pair.client_raw->outbox.size() + 5);  // + the ClientHello
  pair.pump();
  CHECK(pair.client_handshake == "ok");
  CHECK(pair.server_handshake == "ok");
  CHECK(pair.server_events.received == "early");
  pair.server->write(text("hello"));
  pair.pump();
  CHECK(pair.client_events.received == "hello");

  auto info = pair.server->tls_info();
  REQUIRE(info);
  CHECK((info->version == "TLSv1.3" || info->version == "TLSv1.2"));
  CHECK_FALSE(info->cipher.empty());
  CHECK_FALSE(info->peer_certificate);
  auto client_info = pair.client->tls_info();
  REQUIRE(client_info);
  CHECK(client_info->peer_common_name == "db.test");
  CHECK(info->server_end_point.size() == 32);  // SHA-256 signature: SHA-256 hash
  CHECK(info->server_end_point == client_info->server_end_point);
}

TEST_CASE("a megabyte crosses in records and arrives whole and in order") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client({});
  Pair pair(*client.context, *server.context, {});
  pair.pump();
  std::string big;
  for (int i = 0; i < 1 << 20; ++i) big.push_back(static_cast<char>('a' + i % 26));
  pair.server->write(text(big));
  pair.pump();
  CHECK(pair.client_events.received == big);
}

TEST_CASE("records split at every byte, and many records in one read, arrive whole and in order") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client({});
  Pair pair(*client.context, *server.context, {});
  pair.pump();
  std::string expected;
  for (int i = 0; i < 5; ++i) {  // five sends, five records in one delivery below
    std::string message = "message " + std::to_string(i) + std::string(100 * i, 'x');
    expected += message;
    CHECK(pair.server->send(text(message)));
  }
  Bytes records = std::move(pair.server_raw->outbox);
  pair.server_raw->outbox.clear();
  for (std::uint8_t byte : records) pair.client_raw->deliver(ByteView(&byte, 1));
  CHECK(pair.client_events.received == expected);
  CHECK(pair.client_raw->input().empty());  // every ciphertext byte was taken
  pair.client_events.received.clear();
  pair.server->send(text(expected));
  pair.server->send(text(expected));
  pair.pump();
  CHECK(pair.client_events.received == expected + expected);
  CHECK(pair.client->is_open());
}

TEST_CASE("one send is one write below, from a block the loop's pool lends and gets back") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client({});
  BufferPool pool;
  Pair pair(*client.context, *server.context, {}, &pool);
  pair.pump();
  std::size_t kept = pool.kept();
  int writes = pair.server_raw->writes;
  std::string batch;
  for (int i = 0; i < 200; ++i) batch += "DataRow " + std::to_string(i) + ";";  // ~2.5 KB
  CHECK(pair.server->send(text(batch)));
  CHECK(pair.server_raw->writes == writes + 1);
  CHECK(pool.kept() == kept);  // the ciphertext block went back
  pair.pump();
  CHECK(pair.client_events.received == batch);
  CHECK(pool.kept() == kept);
}

TEST_CASE("OpenSSL's buffers stay while a connection is busy and go after a quiet sweep interval") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client({});
  EventLoop loop;
  TlsBufferSweeper& sweeper = loop.tls_buffers();
  {
    Pair pair(*client.context, *server.context, {}, nullptr, &loop);
    pair.pump();
    CHECK(sweeper.listed() == 2);
    sweeper.sweep();  // both were used since the last sweep: kept
    CHECK(sweeper.listed() == 2);
    pair.server->send(text("busy"));
    pair.pump();
    sweeper.sweep();  // both used again (the client read): kept
    CHECK(sweeper.listed() == 2);
    sweeper.sweep();  // quiet for a whole interval: freed
    CHECK(sweeper.listed() == 0);
    pair.client->send(text("after"));  // buffers come back on use
    pair.server->send(text("both ways"));
    pair.pump();
    CHECK(pair.server_events.received == "after");
    CHECK(pair.client_events.received == "busyboth ways");
    CHECK(sweeper.listed() == 2);
    pair.client.reset();  // a transport going away leaves the list
    CHECK(sweeper.listed() == 1);
  }
  CHECK(sweeper.listed() == 0);
}

TEST_CASE("an untrusted certificate fails the handshake and says why") {
  CertificateFiles server_cert("db.test");
  CertificateFiles other_ca("ca.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client(trusting(other_ca));
  Pair pair(*client.context, *server.context, {});
  pair.pump();
  CHECK(pair.client_handshake.find("certificate verify failed: self-signed certificate") == 0);
  CHECK(pair.client_events.closed == pair.client_handshake);
  CHECK_FALSE(pair.client->is_open());
  CHECK(pair.server_handshake.find("alert") != std::string::npos);  // the client's alert arrived
}

TEST_CASE("verify-full: a certificate for another name fails with hostname mismatch") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client(trusting(server_cert));
  TlsOptions options;
  options.server_name = "other.test";
  options.verify_host = true;
  Pair pair(*client.context, *server.context, options);
  pair.pump();
  CHECK(pair.client_handshake == "certificate verify failed: hostname mismatch");
}

TEST_CASE("a required client certificate: missing fails, present is verified and its CN known") {
  CertificateFiles server_cert("db.test");
  CertificateFiles client_cert("alice");
  auto server = TlsContext::server(
      {server_cert.cert, server_cert.key, client_cert.cert, PeerCertificate::Required});
  REQUIRE(server.context);
  {
    auto client = TlsContext::client({});
    Pair pair(*client.context, *server.context, {});
    pair.pump();
    CHECK(pair.server_handshake.find("certificate") != std::string::npos);
    CHECK_FALSE(pair.server->is_open());
  }
  TlsClientFiles files;
  files.cert_file = client_cert.cert;
  files.key_file = client_cert.key;
  auto client = TlsContext::client(files);
  REQUIRE(client.context);
  Pair pair(*client.context, *server.context, {});
  pair.pump();
  CHECK(pair.server_handshake == "ok");
  auto info = pair.server->tls_info();
  REQUIRE(info);
  CHECK(info->peer_certificate);
  CHECK(info->peer_common_name == "alice");
}

TEST_CASE("close_after_flush sends close_notify; the peer sees the connection end") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client({});
  Pair pair(*client.context, *server.context, {});
  pair.pump();
  pair.server->write(text("bye"));
  pair.server->close_after_flush();
  CHECK(pair.server_raw->flushed_close);
  pair.pump();
  CHECK(pair.client_events.received == "bye");
  CHECK(pair.client_events.closed == "connection closed by peer");
  CHECK_FALSE(pair.server->write(text("late")));
}

TEST_CASE("loading errors name the file") {
  auto missing = TlsContext::server(
      {"/nonexistent/server.crt", "/nonexistent/server.key", "", PeerCertificate::None});
  CHECK_FALSE(missing.context);
  CHECK(missing.error.find("cannot load certificate file \"/nonexistent/server.crt\"") == 0);
  CertificateFiles a("a.test");
  CertificateFiles b("b.test");
  auto mismatch = TlsContext::server({a.cert, b.key, "", PeerCertificate::None});
  CHECK_FALSE(mismatch.context);
  CHECK(mismatch.error.find("cannot load private key file \"" + b.key +
                            "\": key values mismatch") == 0);
}

TEST_CASE("backpressure is the ciphertext queue below; on_drained passes up") {
  CertificateFiles server_cert("db.test");
  auto server = TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client = TlsContext::client({});
  Pair pair(*client.context, *server.context, {});
  pair.pump();
  pair.server->set_high_water(1000);
  pair.server->write(text(std::string(4000, 'x')));
  CHECK(pair.server->above_high_water());
  CHECK(pair.server->queued_bytes() > 4000);  // records carry headers and tags
  pair.pump();
  CHECK_FALSE(pair.server->above_high_water());
  pair.server_raw->drained();
  CHECK(pair.server_events.drained == 1);
}

TEST_CASE("a ClientHello already received before the TLS transport exists is used (direct TLS)") {
  CertificateFiles server_cert("db.test");
  auto server_context =
      TlsContext::server({server_cert.cert, server_cert.key, "", PeerCertificate::None});
  auto client_context = TlsContext::client({});
  auto client_raw = std::make_unique<MemoryTransport>();
  MemoryTransport* client_inner = client_raw.get();
  TlsTransport client(std::move(client_raw), *client_context.context, {}, nullptr);
  Recorder client_events;
  client.set_handler(&client_events);
  client.start_reading();
  REQUIRE(client.start() == "");
  // The server's TCP transport read the ClientHello while it still looked like a startup packet.
  auto server_raw = std::make_unique<MemoryTransport>();
  MemoryTransport* server_inner = server_raw.get();
  server_inner->deliver(client_inner->outbox);
  client_inner->outbox.clear();
  REQUIRE(server_inner->input().size() > 0);
  TlsTransport server(std::move(server_raw), *server_context.context, {}, nullptr);
  Recorder server_events;
  server.set_handler(&server_events);
  server.start_reading();
  REQUIRE(server.start() == "");
  CHECK(server_inner->input().empty());
  CHECK_FALSE(server_inner->outbox.empty());  // the ServerHello
  for (int round = 0; round < 10 && !(client_inner->outbox.empty() && server_inner->outbox.empty());
       ++round) {
    Bytes to_client = std::move(server_inner->outbox);
    server_inner->outbox.clear();
    if (!to_client.empty()) client_inner->deliver(to_client);
    Bytes to_server = std::move(client_inner->outbox);
    client_inner->outbox.clear();
    if (!to_server.empty()) server_inner->deliver(to_server);
  }
  CHECK(server.handshake_done());
  CHECK(client.handshake_done());
}
