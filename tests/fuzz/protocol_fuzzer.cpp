// libFuzzer target for the wire-protocol codec. The input is used three ways:
//  1. as a message body for every decoder;
//  2. as a connection stream: one startup packet, then typed messages, each decoded by type and,
//     where the encoding is canonical, re-encoded and compared with the original bytes;
//  3. as a relay stream through MessageStream, fed whole, in chunks and byte by byte: all three
//     must deliver the same messages. Byte by byte and in small chunks only over the first
//     kPiecewiseLimit bytes (the whole input when it is no longer), in 1–4 KiB chunks over the
//     rest: fed a byte at a time, a 64 KiB input cost as much as hundreds of small ones.
// Any disagreement traps, so libFuzzer records it as a crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "protocol/frame_reader.h"
#include "protocol/message_stream.h"
#include "protocol/messages.h"

using namespace ouroboros;
using namespace ouroboros::protocol;

namespace {

constexpr std::size_t kPiecewiseLimit = 4096;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

// The bytes a frame occupied in the input, rebuilt from its parts.
Bytes frame_bytes(const Frame& frame) {
  Bytes out;
  MessageWriter(out, frame.type).bytes(frame.body).finish();
  return out;
}

void decode_everything(ByteView body) {
  (void)decode_startup(body);
  (void)decode_authentication(body);
  (void)decode_sasl_initial_response(body);
  (void)decode_password(body);
  (void)decode_backend_key_data(body);
  (void)decode_parameter_status(body);
  (void)decode_ready_for_query(body);
  if (const auto error = decode_error_fields(body)) {
    (void)error->severity();
    (void)error->sqlstate();
  }
  (void)decode_command_complete(body);
  (void)decode_query(body);
  (void)decode_parse(body);
  {
    // The proxy's allocation-free look at a Bind must accept exactly what the full decoder does.
    const auto bind = decode_bind(body);
    const auto names = decode_bind_names(body);
    require(static_cast<bool>(bind) == static_cast<bool>(names));
    require(!bind || (bind->portal == names->portal && bind->statement == names->statement));
  }
  (void)decode_describe(body);
  (void)decode_close(body);
  (void)decode_execute(body);
  (void)decode_empty(body);
}

// Re-encodes a decoded message into `again` and requires the original bytes back. Letters are
// shared by both directions, so each decoder that accepts the body is checked on its own.
class Reencoded {
 public:
  explicit Reencoded(const Frame& frame) : original_(frame_bytes(frame)) {}
  template <typename Encode>
  void check(Encode encode) const {
    Bytes again;
    encode(again);
    require(again == original_);
  }

 private:
  Bytes original_;
};

void check_authentication(const Reencoded& re, const AuthenticationRequest& auth) {
  switch (static_cast<AuthCode>(auth.code)) {
    case AuthCode::Ok:
      re.check(encode_authentication_ok);
      break;
    case AuthCode::CleartextPassword:
      re.check(encode_authentication_cleartext);
      break;
    case AuthCode::Md5Password:
      re.check([&](Bytes& out) { encode_authentication_md5(out, auth.md5_salt); });
      break;
    case AuthCode::Sasl:
      re.check([&](Bytes& out) {
        encode_authentication_sasl(out, std::vector<std::string_view>(auth.sasl_mechanisms.begin(),
                                                                      auth.sasl_mechanisms.end()));
      });
      break;
    case AuthCode::SaslContinue:
      re.check(
          [&](Bytes& out) { encode_authentication_sasl_continue(out, as_chars(auth.sasl_data)); });
      break;
    case AuthCode::SaslFinal:
      re.check(
          [&](Bytes& out) { encode_authentication_sasl_final(out, as_chars(auth.sasl_data)); });
      break;
    default:
      break;
  }
}

// Decodes a typed message by its type byte and checks the canonical re-encodings.
void check_typed(const Frame& frame) {
  const Reencoded re(frame);
  const ByteView body = frame.body;
  switch (frame.type) {
    case 'Q':
      if (const auto sql = decode_query(body)) {
        re.check([&](Bytes& out) { encode_query(out, *sql); });
      }
      break;
    case 'P':
      if (const auto parse = decode_parse(body)) {
        re.check([&](Bytes& out) {
          encode_parse(out, parse->statement, parse->query, parse->parameter_types);
        });
      }
      break;
    case 'C':
      if (const auto close = decode_close(body)) {
        re.check([&](Bytes& out) { encode_close(out, close->kind, close->name); });
      }
      if (const auto tag = decode_command_complete(body)) {
        re.check([&](Bytes& out) { encode_command_complete(out, *tag); });
      }
      break;
    case 'p':
      if (const auto password = decode_password(body)) {
        re.check([&](Bytes& out) { encode_password(out, *password); });
      }
      // Empty data is ambiguous (length 0 or -1), so only non-empty data must round-trip.
      if (const auto sasl = decode_sasl_initial_response(body); sasl && !sasl->data.empty()) {
        re.check([&](Bytes& out) {
          encode_sasl_initial_response(out, sasl->mechanism, as_chars(sasl->data));
        });
      }
      break;
    case 'S':
      if (decode_empty(body)) re.check(encode_sync);
      if (const auto status = decode_parameter_status(body)) {
        re.check([&](Bytes& out) { encode_parameter_status(out, status->name, status->value); });
      }
      break;
    case 'K':
      if (const auto key = decode_backend_key_data(body)) {
        re.check([&](Bytes& out) { encode_backend_key_data(out, key->pid, key->key); });
      }
      break;
    case 'Z':
      if (const auto status = decode_ready_for_query(body)) {
        re.check([&](Bytes& out) { encode_ready_for_query(out, *status); });
      }
      break;
    case 'R':
      if (const auto auth = decode_authentication(body)) check_authentication(re, *auth);
      break;
    default:
      break;
  }
  decode_everything(body);
}

void check_connection(ByteView input, const FrameReader& reader) {
  const FrameResult startup = reader.read_startup(input);
  if (startup.status == FrameStatus::Ready) {
    require(startup.frame.size <= input.size());
    if (const auto packet = decode_startup(startup.frame.body)) {
      Bytes again;
      if (packet->kind == StartupKind::Startup && packet->protocol == kProtocolV3) {
        encode_startup(again, packet->parameters);
      } else if (packet->kind == StartupKind::CancelRequest) {
        encode_cancel_request(again, packet->cancel_pid, packet->cancel_key);
      }
      require(again.empty() || again == Bytes(input.begin(), input.begin() + startup.frame.size));
    }
    input = input.subspan(startup.frame.size);
  }
  for (;;) {
    const HeaderResult header = reader.peek_typed_header(input);
    const FrameResult typed = reader.read_typed(input);
    require(header.status != FrameStatus::Malformed || typed.status == FrameStatus::Malformed);
    if (typed.status != FrameStatus::Ready) return;
    require(header.status == FrameStatus::Ready && header.type == typed.frame.type);
    require(typed.frame.size == 5 + typed.frame.body.size() && typed.frame.size <= input.size());
    check_typed(typed.frame);
    input = input.subspan(typed.frame.size);
  }
}

// What a MessageStream delivered, with pass-through pieces joined back into whole messages.
struct Delivery {
  std::vector<Bytes> messages;  // whole: type byte + body; pass-through: raw bytes
  bool malformed = false;
  std::size_t left_over = 0;
  bool operator==(const Delivery&) const = default;
};

Delivery relay(ByteView input, std::size_t chunk) {
  MessageStream stream(FrameReader(512), TypeSet{'Z', 'E', 'C', 'S', 'K', 'R', 'N', '1', '3'});
  Delivery delivery;
  Bytes buffer;
  for (std::size_t at = 0; at < input.size() && !delivery.malformed; at += chunk) {
    const ByteView piece = input.subspan(at, std::min(chunk, input.size() - at));
    buffer.insert(buffer.end(), piece.begin(), piece.end());
    // What the stream has consumed of `buffer`; dropped once per piece, as a connection compacts
    // its read buffer (dropping it per message made a whole 64 KiB input quadratic).
    std::size_t done = 0;
    for (;;) {
      const ByteView unread = ByteView(buffer).subspan(done);
      const StreamEvent event = stream.next(unread);
      require(event.consumed <= unread.size());
      if (event.kind == StreamEventKind::NeedMore) {
        require(event.consumed == 0);
        break;
      }
      if (event.kind == StreamEventKind::Malformed) {
        require(event.consumed == 0 && !event.error.empty());
        require(stream.next(unread).kind == StreamEventKind::Malformed);
        delivery.malformed = true;
        break;
      }
      require(event.consumed > 0);
      if (event.kind == StreamEventKind::WholeMessage) {
        require(event.consumed == event.frame.size && event.type == event.frame.type);
        Bytes message{static_cast<std::uint8_t>(event.type)};
        append(message, event.frame.body);
        delivery.messages.push_back(std::move(message));
      } else {
        require(event.consumed == event.bytes.size());
        if (event.message_start) delivery.messages.emplace_back();
        require(!delivery.messages.empty());
        append(delivery.messages.back(), event.bytes);
      }
      done += event.consumed;
    }
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(done));
  }
  delivery.left_over = delivery.malformed ? 0 : buffer.size();
  return delivery;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  decode_everything(input);
  check_connection(input, FrameReader(1 << 16));
  check_connection(input, FrameReader(16));  // small limit: exercises the oversize paths

  const std::size_t last = size == 0 ? 0 : data[size - 1];
  const ByteView piecewise = input.first(std::min(size, kPiecewiseLimit));
  const Delivery whole = relay(piecewise, piecewise.size() + 1);
  require(relay(piecewise, 1 + last % 17) == whole);
  require(relay(piecewise, 1) == whole);
  if (size > kPiecewiseLimit) {
    require(relay(input, 1024 + last * 12) == relay(input, size + 1));
  }
  return 0;
}
