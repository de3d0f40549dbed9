// The first bytes of a client connection (startup packet, SSLRequest, GSSENCRequest, direct TLS,
// CancelRequest), driven by scripted input: no sockets, no TLS library.
#include "session/startup_negotiation.h"

#include <doctest/doctest.h>

using namespace ouroboros;
using namespace ouroboros::session;
using Kind = StartupStep::Kind;
using Refusal = StartupStep::Refusal;

namespace {

const protocol::FrameReader kReader(1 << 20);

Bytes startup(std::vector<std::pair<std::string, std::string>> params = {{"user", "app"}, {"database", "db"}}) {
  Bytes out;
  protocol::encode_startup(out, params);
  return out;
}

Bytes ssl_request() {
  Bytes out;
  protocol::encode_ssl_request(out);
  return out;
}

Bytes gss_request() {
  Bytes out;
  protocol::MessageWriter w(out, protocol::kUntyped);
  w.int32(80877104);
  w.finish();
  return out;
}

StartupFacts plain(bool tls_available = true) {
  StartupFacts facts;
  facts.tls_available = tls_available;
  return facts;
}

}  // namespace

TEST_CASE("startup: a StartupMessage comes through whole, and half of one waits") {
  const Bytes packet = startup();
  StartupStep step = next_startup_step(packet, plain(), kReader);
  CHECK(step.kind == Kind::Startup);
  CHECK(step.consumed == packet.size());
  REQUIRE(step.packet);
  CHECK(step.packet->parameter("user") == "app");
  const Bytes half(packet.begin(), packet.begin() + 7);
  CHECK(next_startup_step(half, plain(), kReader).kind == Kind::NeedMore);
  CHECK(next_startup_step({}, plain(), kReader).kind == Kind::NeedMore);
}

TEST_CASE("startup: an SSLRequest is answered S with TLS on, N without it or on TLS already") {
  const Bytes request = ssl_request();
  StartupStep step = next_startup_step(request, plain(), kReader);
  CHECK(step.kind == Kind::StartTls);
  CHECK(step.reply == Bytes{'S'});
  CHECK_FALSE(step.direct_tls);
  CHECK(step.consumed == request.size());

  step = next_startup_step(request, plain(false), kReader);
  CHECK(step.kind == Kind::Reply);
  CHECK(step.reply == Bytes{'N'});

  StartupFacts over_tls = plain();
  over_tls.tls_active = true;
  CHECK(next_startup_step(request, over_tls, kReader).reply == Bytes{'N'});
}

TEST_CASE("startup: bytes after an SSLRequest, before its answer, are refused (CVE-2021-23214)") {
  Bytes input = ssl_request();
  append(input, startup());
  StartupStep step = next_startup_step(input, plain(), kReader);
  CHECK(step.kind == Kind::Refuse);
  CHECK(step.refusal == Refusal::Protocol);
  CHECK(step.sqlstate == "08P01");
  CHECK(step.message == "received unencrypted data after SSL request");
  CHECK(step.consumed == input.size());
  // Without TLS the answer is N and the client may go on in plain text at once.
  step = next_startup_step(input, plain(false), kReader);
  CHECK(step.kind == Kind::Reply);
  CHECK(next_startup_step(ByteView(input).subspan(step.consumed), plain(false), kReader).kind == Kind::Startup);
}

TEST_CASE("startup: a direct TLS handshake (PostgreSQL 17) starts TLS only when it is on") {
  const Bytes hello = {0x16, 0x03, 0x01, 0x00, 0x10};
  StartupStep step = next_startup_step(hello, plain(), kReader);
  CHECK(step.kind == Kind::StartTls);
  CHECK(step.direct_tls);
  CHECK(step.reply.empty());
  CHECK(step.consumed == 0);  // the handshake bytes are TLS's to read
  step = next_startup_step(hello, plain(false), kReader);
  CHECK(step.kind == Kind::Refuse);
  CHECK(step.message == "direct TLS connections are not enabled (listen.tls.mode)");
}

TEST_CASE("startup: GSS encryption is declined; a CancelRequest is passed on") {
  StartupStep step = next_startup_step(gss_request(), plain(), kReader);
  CHECK(step.kind == Kind::Reply);
  CHECK(step.reply == Bytes{'N'});
  Bytes cancel;
  protocol::encode_cancel_request(cancel, 4242, -7);
  step = next_startup_step(cancel, plain(), kReader);
  CHECK(step.kind == Kind::Cancel);
  CHECK(step.cancel_pid == 4242);
  CHECK(step.cancel_key == -7);
}

TEST_CASE("startup: refusals after the StartupMessage, in PostgreSQL's order") {
  Bytes replication = startup({{"user", "app"}, {"replication", "database"}});
  StartupStep step = next_startup_step(replication, plain(), kReader);
  CHECK(step.kind == Kind::Refuse);
  CHECK(step.refusal == Refusal::Replication);
  CHECK(step.sqlstate == "0A000");
  CHECK(next_startup_step(startup({{"user", "app"}, {"replication", "off"}}), plain(), kReader).kind == Kind::Startup);

  StartupFacts require = plain();
  require.tls_required = true;
  step = next_startup_step(startup(), require, kReader);
  CHECK(step.refusal == Refusal::TlsRequired);
  CHECK(step.sqlstate == "28000");
  CHECK(step.message == "SSL required");
  CHECK_FALSE(step.detail.empty());
  require.tls_active = true;
  CHECK(next_startup_step(startup(), require, kReader).kind == Kind::Startup);

  StartupFacts full = plain();
  full.over_limit = true;
  step = next_startup_step(startup(), full, kReader);
  CHECK(step.refusal == Refusal::TooManyClients);
  CHECK(step.sqlstate == "53300");
  // An SSLRequest is still answered first: the refusal comes with the StartupMessage.
  CHECK(next_startup_step(ssl_request(), full, kReader).kind == Kind::StartTls);
}

TEST_CASE("startup: malformed packets are refused with what was wrong") {
  const Bytes tiny = {0, 0, 0, 3};
  StartupStep step = next_startup_step(tiny, plain(), kReader);
  CHECK(step.kind == Kind::Refuse);
  CHECK(step.refusal == Refusal::Protocol);
  CHECK(step.message.starts_with("invalid startup packet: "));
  CHECK(step.consumed == tiny.size());
  Bytes v2;
  protocol::MessageWriter w(v2, protocol::kUntyped);
  w.int32(0x00020000).cstring("user").cstring("app").int8(0);
  w.finish();
  step = next_startup_step(v2, plain(), kReader);
  CHECK(step.message == "invalid startup packet: unsupported protocol version or missing user");
  CHECK(next_startup_step(startup({{"database", "db"}}), plain(), kReader).kind == Kind::Refuse);
}
