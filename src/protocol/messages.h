#pragma once
// Typed views of the PostgreSQL v3 messages the proxy reads. Decoders take the body of a frame
// (see FrameReader) and return std::nullopt when it is malformed; they never throw.
// String views and byte views point into the frame body: copy what must outlive it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"

namespace ouroboros::protocol {

// Message type bytes (frontend = sent by clients, backend = sent by servers).
namespace frontend {
inline constexpr char kQuery = 'Q', kParse = 'P', kBind = 'B', kDescribe = 'D', kExecute = 'E',
                      kSync = 'S', kFlush = 'H', kClose = 'C', kTerminate = 'X',
                      kPassword = 'p',  // also SASLInitialResponse / SASLResponse
                      kCopyData = 'd', kCopyDone = 'c', kCopyFail = 'f', kFunctionCall = 'F';
}
namespace backend {
inline constexpr char kAuthentication = 'R', kBackendKeyData = 'K', kParameterStatus = 'S',
                      kReadyForQuery = 'Z', kErrorResponse = 'E', kNoticeResponse = 'N',
                      kCommandComplete = 'C', kParseComplete = '1', kBindComplete = '2',
                      kCloseComplete = '3', kRowDescription = 'T', kDataRow = 'D',
                      kCopyInResponse = 'G', kCopyOutResponse = 'H', kCopyBothResponse = 'W',
                      kCopyData = 'd', kCopyDone = 'c', kNotification = 'A',
                      kEmptyQueryResponse = 'I', kNoData = 'n', kParameterDescription = 't',
                      kPortalSuspended = 's', kNegotiateProtocolVersion = 'v';
}

// ---- startup phase (untyped packets) ----

inline constexpr std::int32_t kProtocolV3 = 196608;        // 3.0
inline constexpr std::int32_t kSslRequestCode = 80877103;
inline constexpr std::int32_t kGssEncRequestCode = 80877104;
inline constexpr std::int32_t kCancelRequestCode = 80877102;

enum class StartupKind { Startup, SslRequest, GssEncRequest, CancelRequest };

struct StartupPacket {
  StartupKind kind = StartupKind::Startup;
  std::int32_t protocol = 0;                                     // Startup only
  std::vector<std::pair<std::string, std::string>> parameters;  // Startup only, in order
  std::int32_t cancel_pid = 0;                                   // CancelRequest only
  std::int32_t cancel_key = 0;                                   // CancelRequest only

  // Value of a startup parameter ("user", "database", ...), if present.
  std::optional<std::string_view> parameter(std::string_view name) const;
};
// Rejects unknown codes, protocol major versions other than 3, missing "user", unterminated
// strings and trailing garbage.
std::optional<StartupPacket> decode_startup(ByteView body);

// ---- authentication ----

enum class AuthCode : std::int32_t {
  Ok = 0, CleartextPassword = 3, Md5Password = 5, Sasl = 10, SaslContinue = 11, SaslFinal = 12,
};
struct AuthenticationRequest {
  std::int32_t code = 0;                    // see AuthCode; other codes are kept as-is
  std::uint8_t md5_salt[4] = {0, 0, 0, 0};  // Md5Password
  std::vector<std::string> sasl_mechanisms;  // Sasl
  ByteView sasl_data;                        // SaslContinue / SaslFinal
};
std::optional<AuthenticationRequest> decode_authentication(ByteView body);

// Client's 'p' message during SASL: SASLInitialResponse (mechanism + data) or SASLResponse.
struct SaslInitialResponse {
  std::string_view mechanism;
  ByteView data;  // empty when the length is -1
};
std::optional<SaslInitialResponse> decode_sasl_initial_response(ByteView body);
// PasswordMessage (cleartext or md5): a single null-terminated string.
std::optional<std::string_view> decode_password(ByteView body);

// ---- backend messages ----

struct BackendKeyData {
  std::int32_t pid = 0;
  std::int32_t key = 0;
};
std::optional<BackendKeyData> decode_backend_key_data(ByteView body);

struct ParameterStatus {
  std::string_view name;
  std::string_view value;
};
std::optional<ParameterStatus> decode_parameter_status(ByteView body);

// 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block.
std::optional<char> decode_ready_for_query(ByteView body);

// A DataRow's columns as views into the body; nullopt for SQL NULL.
std::optional<std::vector<std::optional<std::string_view>>> decode_data_row(ByteView body);

// ErrorResponse and NoticeResponse share one body format: (code byte, string)* then a 0.
struct ErrorFields {
  std::vector<std::pair<char, std::string_view>> fields;
  std::string_view get(char code) const;  // "" when absent
  std::string_view severity() const;      // 'V' if present (not localized), else 'S'
  std::string_view sqlstate() const { return get('C'); }
  std::string_view message() const { return get('M'); }
  std::string_view detail() const { return get('D'); }
  std::string_view hint() const { return get('H'); }
};
std::optional<ErrorFields> decode_error_fields(ByteView body);

std::optional<std::string_view> decode_command_complete(ByteView body);  // the command tag

// ---- frontend messages ----

std::optional<std::string_view> decode_query(ByteView body);

struct Parse {
  std::string_view statement;  // "" = unnamed
  std::string_view query;
  std::vector<std::uint32_t> parameter_types;
};
std::optional<Parse> decode_parse(ByteView body);

struct Bind {
  std::string_view portal;
  std::string_view statement;
  std::vector<std::int16_t> parameter_formats;
  std::vector<std::optional<ByteView>> parameters;  // nullopt = SQL NULL (length -1)
  std::vector<std::int16_t> result_formats;
};
std::optional<Bind> decode_bind(ByteView body);
// A Bind's portal and statement names, after the same checks as decode_bind, allocating nothing:
// what the proxy reads of a Bind it forwards (the parameters go on untouched).
struct BindNames {
  std::string_view portal;
  std::string_view statement;
};
std::optional<BindNames> decode_bind_names(ByteView body);

struct Describe {
  char kind = 'S';  // 'S' statement or 'P' portal
  std::string_view name;
};
std::optional<Describe> decode_describe(ByteView body);

struct Close {
  char kind = 'S';  // 'S' statement or 'P' portal
  std::string_view name;
};
std::optional<Close> decode_close(ByteView body);

struct Execute {
  std::string_view portal;
  std::int32_t max_rows = 0;
};
std::optional<Execute> decode_execute(ByteView body);

// Sync, Flush and Terminate have empty bodies: true when the body is empty.
bool decode_empty(ByteView body);

// ---- encoders: append one complete message to `out` ----

// Builds one message: writes the type byte and a length placeholder, then patches the length.
class MessageWriter {
 public:
  // type kUntyped ('\0') writes an untyped (startup-phase) packet.
  MessageWriter(Bytes& out, char type);
  MessageWriter& int8(std::uint8_t v);
  MessageWriter& int16(std::int16_t v);
  MessageWriter& int32(std::int32_t v);
  MessageWriter& cstring(std::string_view s);  // s followed by a 0 byte
  MessageWriter& bytes(ByteView b);
  void finish();  // patches the length; must be called exactly once

 private:
  Bytes& out_;
  std::size_t length_at_;
  bool finished_ = false;
};

// Server -> client messages the proxy synthesises.
struct ErrorSpec {
  std::string_view severity = "ERROR";  // ERROR, FATAL, ... (written to both 'S' and 'V')
  std::string_view sqlstate;
  std::string_view message;
  std::string_view detail;  // omitted when empty
  std::string_view hint;    // omitted when empty
};
void encode_error_response(Bytes& out, const ErrorSpec& error);
void encode_notice_response(Bytes& out, const ErrorSpec& notice);
// PostgreSQL's own error with every field kept but the severity ('S' and 'V'): a FATAL that ends
// a pooled server but not the client's session reaches that client as an ERROR.
void encode_error_with_severity(Bytes& out, const ErrorFields& error, std::string_view severity);
void encode_authentication_ok(Bytes& out);
void encode_authentication_cleartext(Bytes& out);
void encode_authentication_md5(Bytes& out, const std::uint8_t salt[4]);
void encode_authentication_sasl(Bytes& out, const std::vector<std::string_view>& mechanisms);
void encode_authentication_sasl_continue(Bytes& out, std::string_view data);
void encode_authentication_sasl_final(Bytes& out, std::string_view data);
void encode_parameter_status(Bytes& out, std::string_view name, std::string_view value);
void encode_backend_key_data(Bytes& out, std::int32_t pid, std::int32_t key);
void encode_ready_for_query(Bytes& out, char status);
void encode_parse_complete(Bytes& out);
void encode_close_complete(Bytes& out);
void encode_command_complete(Bytes& out, std::string_view tag);

// Client -> server messages the proxy synthesises.
void encode_startup(Bytes& out, const std::vector<std::pair<std::string, std::string>>& params);
void encode_ssl_request(Bytes& out);
void encode_cancel_request(Bytes& out, std::int32_t pid, std::int32_t key);
void encode_password(Bytes& out, std::string_view password);
void encode_sasl_initial_response(Bytes& out, std::string_view mechanism, std::string_view data);
void encode_sasl_response(Bytes& out, std::string_view data);
void encode_query(Bytes& out, std::string_view sql);
void encode_parse(Bytes& out, std::string_view statement, std::string_view query,
                  const std::vector<std::uint32_t>& parameter_types);
void encode_close(Bytes& out, char kind, std::string_view name);
void encode_sync(Bytes& out);
void encode_flush(Bytes& out);
void encode_terminate(Bytes& out);

}  // namespace ouroboros::protocol
