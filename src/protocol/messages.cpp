#include "protocol/messages.h"

#include <cstring>

#include "protocol/body_reader.h"
#include "protocol/frame_reader.h"

namespace ouroboros::protocol {
namespace {

// Wraps a decoded value: present only when the whole body was consumed without error.
template <typename T>
std::optional<T> if_finished(const BodyReader& in, T value) {
  if (!in.finished()) return std::nullopt;
  return value;
}

bool is_statement_or_portal(char kind) {
  return kind == 'S' || kind == 'P';
}

}  // namespace

// ---- startup phase ----

std::optional<std::string_view> StartupPacket::parameter(std::string_view name) const {
  for (const auto& [key, value] : parameters) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<StartupPacket> decode_startup(ByteView body) {
  BodyReader in(body);
  StartupPacket packet;
  const std::int32_t code = in.int32();
  if (!in.ok()) return std::nullopt;
  switch (code) {
    case kSslRequestCode:
      packet.kind = StartupKind::SslRequest;
      return if_finished(in, std::move(packet));
    case kGssEncRequestCode:
      packet.kind = StartupKind::GssEncRequest;
      return if_finished(in, std::move(packet));
    case kCancelRequestCode:
      packet.kind = StartupKind::CancelRequest;
      packet.cancel_pid = in.int32();
      packet.cancel_key = in.int32();
      return if_finished(in, std::move(packet));
    default:
      break;
  }
  if ((code >> 16) != 3) return std::nullopt;  // any 3.x minor version is acceptable
  packet.kind = StartupKind::Startup;
  packet.protocol = code;
  while (in.ok()) {
    const std::string_view name = in.cstring();
    if (name.empty()) break;  // the empty name terminates the list (or the read failed)
    const std::string_view value = in.cstring();
    if (!in.ok()) break;
    packet.parameters.emplace_back(name, value);
  }
  if (!in.finished() || !packet.parameter("user")) return std::nullopt;
  return packet;
}

// ---- authentication ----

std::optional<AuthenticationRequest> decode_authentication(ByteView body) {
  BodyReader in(body);
  AuthenticationRequest request;
  request.code = in.int32();
  if (!in.ok()) return std::nullopt;
  switch (static_cast<AuthCode>(request.code)) {
    case AuthCode::Ok:
    case AuthCode::CleartextPassword:
      break;
    case AuthCode::Md5Password: {
      const ByteView salt = in.bytes(4);
      if (in.ok()) std::memcpy(request.md5_salt, salt.data(), 4);
      break;
    }
    case AuthCode::Sasl:
      while (in.ok()) {
        const std::string_view mechanism = in.cstring();
        if (mechanism.empty()) break;
        request.sasl_mechanisms.emplace_back(mechanism);
      }
      break;
    case AuthCode::SaslContinue:
    case AuthCode::SaslFinal:
      request.sasl_data = in.rest();
      break;
    default:
      // Methods we do not speak (Kerberos, GSS, SSPI): the code is enough to refuse them.
      return request;
  }
  return if_finished(in, std::move(request));
}

std::optional<SaslInitialResponse> decode_sasl_initial_response(ByteView body) {
  BodyReader in(body);
  SaslInitialResponse response;
  response.mechanism = in.cstring();
  const std::int32_t length = in.int32();
  if (length != -1) response.data = in.bytes(length);  // -1 means "no initial data"
  return if_finished(in, response);
}

std::optional<std::string_view> decode_password(ByteView body) {
  BodyReader in(body);
  const std::string_view password = in.cstring();
  return if_finished(in, password);
}

// ---- backend messages ----

std::optional<BackendKeyData> decode_backend_key_data(ByteView body) {
  BodyReader in(body);
  BackendKeyData data;
  data.pid = in.int32();
  data.key = in.int32();
  return if_finished(in, data);
}

std::optional<ParameterStatus> decode_parameter_status(ByteView body) {
  BodyReader in(body);
  ParameterStatus status;
  status.name = in.cstring();
  status.value = in.cstring();
  return if_finished(in, status);
}

std::optional<std::vector<std::optional<std::string_view>>> decode_data_row(ByteView body) {
  BodyReader in(body);
  const std::int16_t count = in.int16();
  if (count < 0) return std::nullopt;
  std::vector<std::optional<std::string_view>> columns;
  columns.reserve(static_cast<std::size_t>(count));
  for (std::int16_t i = 0; i < count; ++i) {
    const std::int32_t length = in.int32();
    if (length == -1) {
      columns.emplace_back(std::nullopt);
      continue;
    }
    columns.emplace_back(as_chars(in.bytes(length)));
  }
  return if_finished(in, std::move(columns));
}

std::optional<char> decode_ready_for_query(ByteView body) {
  BodyReader in(body);
  const auto status = static_cast<char>(in.int8());
  if (status != 'I' && status != 'T' && status != 'E') return std::nullopt;
  return if_finished(in, status);
}

std::string_view ErrorFields::get(char code) const {
  for (const auto& [field, value] : fields) {
    if (field == code) return value;
  }
  return {};
}

std::string_view ErrorFields::severity() const {
  for (const auto& [field, value] : fields) {
    if (field == 'V') return value;
  }
  return get('S');
}

std::optional<ErrorFields> decode_error_fields(ByteView body) {
  BodyReader in(body);
  ErrorFields error;
  while (in.ok()) {
    const auto code = static_cast<char>(in.int8());
    if (code == '\0') break;  // terminator (or a failed read, caught by finished())
    const std::string_view value = in.cstring();
    if (!in.ok()) break;
    error.fields.emplace_back(code, value);
  }
  return if_finished(in, std::move(error));
}

std::optional<std::string_view> decode_command_complete(ByteView body) {
  BodyReader in(body);
  const std::string_view tag = in.cstring();
  return if_finished(in, tag);
}

// ---- frontend messages ----

std::optional<std::string_view> decode_query(ByteView body) {
  BodyReader in(body);
  const std::string_view sql = in.cstring();
  return if_finished(in, sql);
}

std::optional<Parse> decode_parse(ByteView body) {
  BodyReader in(body);
  Parse parse;
  parse.statement = in.cstring();
  parse.query = in.cstring();
  const std::size_t count = in.count16(4);
  parse.parameter_types.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    parse.parameter_types.push_back(static_cast<std::uint32_t>(in.int32()));
  }
  return if_finished(in, std::move(parse));
}

std::optional<Bind> decode_bind(ByteView body) {
  BodyReader in(body);
  Bind bind;
  bind.portal = in.cstring();
  bind.statement = in.cstring();
  const std::size_t format_count = in.count16(2);
  bind.parameter_formats.reserve(format_count);
  for (std::size_t i = 0; i < format_count; ++i) bind.parameter_formats.push_back(in.int16());

  const std::size_t parameter_count = in.count16(4);  // each has at least its length field
  bind.parameters.reserve(parameter_count);
  for (std::size_t i = 0; i < parameter_count && in.ok(); ++i) {
    const std::int32_t length = in.int32();
    if (length == -1) {
      bind.parameters.emplace_back(std::nullopt);  // SQL NULL
    } else {
      bind.parameters.emplace_back(in.bytes(length));
    }
  }

  const std::size_t result_count = in.count16(2);
  bind.result_formats.reserve(result_count);
  for (std::size_t i = 0; i < result_count; ++i) bind.result_formats.push_back(in.int16());
  return if_finished(in, std::move(bind));
}

std::optional<BindNames> decode_bind_names(ByteView body) {
  BodyReader in(body);
  BindNames names;
  names.portal = in.cstring();
  names.statement = in.cstring();
  in.bytes(static_cast<std::int64_t>(in.count16(2)) * 2);  // parameter formats
  const std::size_t parameter_count = in.count16(4);
  for (std::size_t i = 0; i < parameter_count && in.ok(); ++i) {
    const std::int32_t length = in.int32();
    if (length != -1) in.bytes(length);  // -1: SQL NULL; other negative lengths fail the reader
  }
  in.bytes(static_cast<std::int64_t>(in.count16(2)) * 2);  // result formats
  return if_finished(in, names);
}

std::optional<Describe> decode_describe(ByteView body) {
  BodyReader in(body);
  Describe describe;
  describe.kind = static_cast<char>(in.int8());
  describe.name = in.cstring();
  if (!is_statement_or_portal(describe.kind)) return std::nullopt;
  return if_finished(in, describe);
}

std::optional<Close> decode_close(ByteView body) {
  BodyReader in(body);
  Close close;
  close.kind = static_cast<char>(in.int8());
  close.name = in.cstring();
  if (!is_statement_or_portal(close.kind)) return std::nullopt;
  return if_finished(in, close);
}

std::optional<Execute> decode_execute(ByteView body) {
  BodyReader in(body);
  Execute execute;
  execute.portal = in.cstring();
  execute.max_rows = in.int32();
  return if_finished(in, execute);
}

bool decode_empty(ByteView body) {
  return body.empty();
}

// ---- encoders ----

MessageWriter::MessageWriter(Bytes& out, char type) : out_(out) {
  if (type != kUntyped) out_.push_back(static_cast<std::uint8_t>(type));
  length_at_ = out_.size();
  out_.insert(out_.end(), 4, 0);  // patched by finish()
}

MessageWriter& MessageWriter::int8(std::uint8_t v) {
  out_.push_back(v);
  return *this;
}

MessageWriter& MessageWriter::int16(std::int16_t v) {
  const auto u = static_cast<std::uint16_t>(v);
  out_.push_back(static_cast<std::uint8_t>(u >> 8));
  out_.push_back(static_cast<std::uint8_t>(u));
  return *this;
}

MessageWriter& MessageWriter::int32(std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  const std::uint8_t be[4] = {static_cast<std::uint8_t>(u >> 24),
                              static_cast<std::uint8_t>(u >> 16), static_cast<std::uint8_t>(u >> 8),
                              static_cast<std::uint8_t>(u)};
  out_.insert(out_.end(), be, be + 4);
  return *this;
}

MessageWriter& MessageWriter::cstring(std::string_view s) {
  append(out_, as_bytes(s));
  out_.push_back(0);
  return *this;
}

MessageWriter& MessageWriter::bytes(ByteView b) {
  append(out_, b);
  return *this;
}

void MessageWriter::finish() {
  if (finished_) return;  // a second call would patch the same value; keep it harmless
  finished_ = true;
  const auto length = static_cast<std::uint32_t>(out_.size() - length_at_);
  out_[length_at_] = static_cast<std::uint8_t>(length >> 24);
  out_[length_at_ + 1] = static_cast<std::uint8_t>(length >> 16);
  out_[length_at_ + 2] = static_cast<std::uint8_t>(length >> 8);
  out_[length_at_ + 3] = static_cast<std::uint8_t>(length);
}

namespace {

void encode_error_like(Bytes& out, char type, const ErrorSpec& error) {
  MessageWriter w(out, type);
  w.int8('S').cstring(error.severity);
  w.int8('V').cstring(error.severity);
  w.int8('C').cstring(error.sqlstate);
  w.int8('M').cstring(error.message);
  if (!error.detail.empty()) w.int8('D').cstring(error.detail);
  if (!error.hint.empty()) w.int8('H').cstring(error.hint);
  w.int8(0).finish();
}

void encode_auth_code(Bytes& out, AuthCode code, ByteView payload) {
  MessageWriter(out, backend::kAuthentication)
      .int32(static_cast<std::int32_t>(code))
      .bytes(payload)
      .finish();
}

void encode_no_body(Bytes& out, char type) {
  MessageWriter(out, type).finish();
}

}  // namespace

void encode_error_response(Bytes& out, const ErrorSpec& error) {
  encode_error_like(out, backend::kErrorResponse, error);
}

void encode_error_with_severity(Bytes& out, const ErrorFields& error, std::string_view severity) {
  MessageWriter w(out, backend::kErrorResponse);
  for (const auto& [code, value] : error.fields) {
    w.int8(static_cast<std::uint8_t>(code));
    w.cstring(code == 'S' || code == 'V' ? severity : value);
  }
  w.int8(0);
  w.finish();
}
void encode_notice_response(Bytes& out, const ErrorSpec& notice) {
  encode_error_like(out, backend::kNoticeResponse, notice);
}
void encode_authentication_ok(Bytes& out) {
  encode_auth_code(out, AuthCode::Ok, {});
}
void encode_authentication_cleartext(Bytes& out) {
  encode_auth_code(out, AuthCode::CleartextPassword, {});
}
void encode_authentication_md5(Bytes& out, const std::uint8_t salt[4]) {
  encode_auth_code(out, AuthCode::Md5Password, ByteView(salt, 4));
}
void encode_authentication_sasl(Bytes& out, const std::vector<std::string_view>& mechanisms) {
  MessageWriter w(out, backend::kAuthentication);
  w.int32(static_cast<std::int32_t>(AuthCode::Sasl));
  for (std::string_view mechanism : mechanisms) w.cstring(mechanism);
  w.int8(0).finish();
}
void encode_authentication_sasl_continue(Bytes& out, std::string_view data) {
  encode_auth_code(out, AuthCode::SaslContinue, as_bytes(data));
}
void encode_authentication_sasl_final(Bytes& out, std::string_view data) {
  encode_auth_code(out, AuthCode::SaslFinal, as_bytes(data));
}
void encode_parameter_status(Bytes& out, std::string_view name, std::string_view value) {
  MessageWriter(out, backend::kParameterStatus).cstring(name).cstring(value).finish();
}
void encode_backend_key_data(Bytes& out, std::int32_t pid, std::int32_t key) {
  MessageWriter(out, backend::kBackendKeyData).int32(pid).int32(key).finish();
}
void encode_ready_for_query(Bytes& out, char status) {
  MessageWriter(out, backend::kReadyForQuery).int8(static_cast<std::uint8_t>(status)).finish();
}
void encode_parse_complete(Bytes& out) {
  encode_no_body(out, backend::kParseComplete);
}
void encode_close_complete(Bytes& out) {
  encode_no_body(out, backend::kCloseComplete);
}
void encode_command_complete(Bytes& out, std::string_view tag) {
  MessageWriter(out, backend::kCommandComplete).cstring(tag).finish();
}

void encode_startup(Bytes& out, const std::vector<std::pair<std::string, std::string>>& params) {
  MessageWriter w(out, kUntyped);
  w.int32(kProtocolV3);
  for (const auto& [name, value] : params) w.cstring(name).cstring(value);
  w.int8(0).finish();
}
void encode_ssl_request(Bytes& out) { MessageWriter(out, kUntyped).int32(kSslRequestCode).finish(); }
void encode_cancel_request(Bytes& out, std::int32_t pid, std::int32_t key) {
  MessageWriter(out, kUntyped).int32(kCancelRequestCode).int32(pid).int32(key).finish();
}
void encode_password(Bytes& out, std::string_view password) {
  MessageWriter(out, frontend::kPassword).cstring(password).finish();
}
void encode_sasl_initial_response(Bytes& out, std::string_view mechanism, std::string_view data) {
  MessageWriter(out, frontend::kPassword)
      .cstring(mechanism)
      .int32(static_cast<std::int32_t>(data.size()))
      .bytes(as_bytes(data))
      .finish();
}
void encode_sasl_response(Bytes& out, std::string_view data) {
  MessageWriter(out, frontend::kPassword).bytes(as_bytes(data)).finish();
}
void encode_query(Bytes& out, std::string_view sql) {
  MessageWriter(out, frontend::kQuery).cstring(sql).finish();
}
void encode_parse(Bytes& out, std::string_view statement, std::string_view query,
                  const std::vector<std::uint32_t>& parameter_types) {
  MessageWriter w(out, frontend::kParse);
  w.cstring(statement).cstring(query).int16(static_cast<std::int16_t>(parameter_types.size()));
  for (std::uint32_t oid : parameter_types) w.int32(static_cast<std::int32_t>(oid));
  w.finish();
}
void encode_close(Bytes& out, char kind, std::string_view name) {
  MessageWriter(out, frontend::kClose).int8(static_cast<std::uint8_t>(kind)).cstring(name).finish();
}
void encode_sync(Bytes& out) {
  encode_no_body(out, frontend::kSync);
}
void encode_flush(Bytes& out) {
  encode_no_body(out, frontend::kFlush);
}
void encode_terminate(Bytes& out) {
  encode_no_body(out, frontend::kTerminate);
}

}  // namespace ouroboros::protocol
