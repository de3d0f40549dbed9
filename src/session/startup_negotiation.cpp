#include "session/startup_negotiation.h"

#include "protocol/sqlstate.h"

namespace ouroboros::session {

namespace {

// A TLS handshake record; a startup packet's first byte (the top of its length) is never 0x16.
constexpr std::uint8_t kTlsHandshakeRecord = 0x16;

StartupStep refuse(StartupStep::Refusal refusal, std::string_view sqlstate, std::string message, ByteView input,
                   std::string detail = {}) {
  StartupStep step;
  step.kind = StartupStep::Kind::Refuse;
  step.consumed = input.size();
  step.refusal = refusal;
  step.sqlstate = sqlstate;
  step.message = std::move(message);
  step.detail = std::move(detail);
  return step;
}

bool truthy(std::string_view value) { return value != "false" && value != "0" && value != "off"; }

}  // namespace

StartupStep next_startup_step(ByteView input, const StartupFacts& facts, const protocol::FrameReader& reader) {
  using Kind = StartupStep::Kind;
  using Refusal = StartupStep::Refusal;
  StartupStep step;
  if (!input.empty() && input[0] == kTlsHandshakeRecord && !facts.tls_active) {
    if (!facts.tls_available)
      return refuse(Refusal::Protocol, sqlstate::kProtocolViolation,
                    "direct TLS connections are not enabled (listen.tls.mode)", input);
    step.kind = Kind::StartTls;
    step.direct_tls = true;
    return step;
  }
  const auto frame = reader.read_startup(input);
  if (frame.status == protocol::FrameStatus::NeedMore) return step;
  if (frame.status == protocol::FrameStatus::Malformed)
    return refuse(Refusal::Protocol, sqlstate::kProtocolViolation,
                  "invalid startup packet: " + std::string(frame.error), input);
  auto packet = protocol::decode_startup(frame.frame.body);
  if (!packet)
    return refuse(Refusal::Protocol, sqlstate::kProtocolViolation,
                  "invalid startup packet: unsupported protocol version or missing user", input);
  step.consumed = frame.frame.size;
  switch (packet->kind) {
    case protocol::StartupKind::SslRequest:
      if (facts.tls_active || !facts.tls_available) {
        step.kind = Kind::Reply;
        step.reply = Bytes{'N'};
        return step;
      }
      // Bytes sent after the SSLRequest, before the answer, would be read as if encrypted.
      if (input.size() > frame.frame.size)
        return refuse(Refusal::Protocol, sqlstate::kProtocolViolation, "received unencrypted data after SSL request",
                      input);
      step.kind = Kind::StartTls;
      step.reply = Bytes{'S'};
      return step;
    case protocol::StartupKind::GssEncRequest:
      // Not offered: the client goes on in plain text (or TLS) or gives up, as it chooses.
      step.kind = Kind::Reply;
      step.reply = Bytes{'N'};
      return step;
    case protocol::StartupKind::CancelRequest:
      step.kind = Kind::Cancel;
      step.cancel_pid = packet->cancel_pid;
      step.cancel_key = packet->cancel_key;
      return step;
    case protocol::StartupKind::Startup:
      break;
  }
  if (auto replication = packet->parameter("replication"); replication && truthy(*replication))
    return refuse(Refusal::Replication, sqlstate::kFeatureNotSupported,
                  "replication connections are not supported by the proxy", input);
  if (facts.tls_required && !facts.tls_active)
    return refuse(Refusal::TlsRequired, sqlstate::kInvalidAuthorization, "SSL required", input,
                  "The proxy accepts only TLS connections (listen.tls.mode: require); connect with sslmode=require.");
  if (facts.over_limit)
    return refuse(Refusal::TooManyClients, sqlstate::kTooManyConnections, "sorry, too many clients already", input);
  step.kind = Kind::Startup;
  step.packet = std::move(packet);
  return step;
}

}  // namespace ouroboros::session
