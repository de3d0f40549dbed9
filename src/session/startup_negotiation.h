#pragma once
// The first bytes of a client connection, before authentication: the startup packet, and what may
// come before it (an SSLRequest, a GSSENCRequest, PostgreSQL 17's direct TLS handshake) or instead
// of it (a CancelRequest). Decides what the proxy answers and when the connection becomes TLS,
// with PostgreSQL's rules: bytes sent after an SSLRequest before its answer are refused
// (CVE-2021-23214), GSS encryption is declined, replication connections are refused, and with
// listen.tls.mode require a plain-text login is refused. No I/O: the caller sends, switches the
// transport and logs.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "protocol/frame_reader.h"
#include "protocol/messages.h"

namespace ouroboros::session {

// How the connection stands when its bytes are read.
struct StartupFacts {
  bool tls_active = false;     // the connection is TLS already
  bool tls_available = false;  // the proxy can speak TLS with clients (listen.tls is set)
  bool tls_required = false;   // listen.tls.mode: require
  bool over_limit = false;     // max_client_connections was reached when it connected
};

struct StartupStep {
  enum class Kind : std::uint8_t {
    NeedMore,  // nothing until more bytes arrive
    Reply,     // send `reply` ('N'), then read on
    StartTls,  // send `reply` ('S'; nothing for direct TLS), then wrap the transport in TLS
    Cancel,    // a CancelRequest for `cancel_pid`/`cancel_key`: forward it and close
    Refuse,    // send a FATAL ErrorResponse (`sqlstate`, `message`, `detail`) and close
    Startup,   // the StartupMessage, in `packet`: authentication comes next
  };
  // Why a login was refused, for the rejection counters.
  enum class Refusal : std::uint8_t { None, Protocol, TlsRequired, TooManyClients, Replication };

  Kind kind = Kind::NeedMore;
  std::size_t consumed = 0;  // input bytes this step used (all of them on a refusal)
  Bytes reply;
  bool direct_tls = false;  // StartTls: a PostgreSQL 17 direct TLS handshake (ALPN required)
  std::int32_t cancel_pid = 0;
  std::int32_t cancel_key = 0;
  Refusal refusal = Refusal::None;
  std::string_view sqlstate;
  std::string message;
  std::string detail;
  std::optional<protocol::StartupPacket> packet;
};

// The next step for the bytes at the front of `input`.
StartupStep next_startup_step(ByteView input, const StartupFacts& facts, const protocol::FrameReader& reader);

}  // namespace ouroboros::session
