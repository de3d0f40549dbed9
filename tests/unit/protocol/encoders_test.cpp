#include <doctest/doctest.h>

#include <algorithm>

#include "protocol/frame_reader.h"
#include "protocol/messages.h"
#include "wire.h"

using namespace ouroboros;
using namespace ouroboros::protocol;
using ouroboros::test::wire;

namespace {

template <typename Encode>
Bytes encoded(Encode encode) {
  Bytes out;
  encode(out);
  return out;
}

// The single frame `bytes` must consist of; its body views into `bytes`.
Frame only_frame(const Bytes& bytes, bool startup = false) {
  const FrameReader reader(1 << 16);
  const FrameResult result = startup ? reader.read_startup(bytes) : reader.read_typed(bytes);
  REQUIRE(result.status == FrameStatus::Ready);
  REQUIRE(result.frame.size == bytes.size());
  return result.frame;
}

}  // namespace

TEST_CASE("golden bytes: backend messages") {
  CHECK(encoded([](Bytes& o) { encode_ready_for_query(o, 'I'); }) == wire({'Z', 0, 0, 0, 5, 'I'}));
  CHECK(encoded(encode_authentication_ok) == wire({'R', 0, 0, 0, 8, 0, 0, 0, 0}));
  CHECK(encoded(encode_authentication_cleartext) == wire({'R', 0, 0, 0, 8, 0, 0, 0, 3}));
  const std::uint8_t salt[4] = {0x01, 0x02, 0xFE, 0xFF};
  CHECK(encoded([&](Bytes& o) { encode_authentication_md5(o, salt); }) ==
        wire({'R', 0, 0, 0, 12, 0, 0, 0, 5, 0x01, 0x02, 0xFE, 0xFF}));
  CHECK(encoded([](Bytes& o) { encode_authentication_sasl(o, {"SCRAM-SHA-256"}); }) ==
        wire({'R', 0, 0, 0, 23, 0, 0, 0, 10, "SCRAM-SHA-256", 0, 0}));
  CHECK(encoded([](Bytes& o) {
          encode_authentication_sasl(o, {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
        }) ==
        wire({'R', 0, 0, 0, 42, 0, 0, 0, 10, "SCRAM-SHA-256-PLUS", 0, "SCRAM-SHA-256", 0, 0}));
  CHECK(encoded([](Bytes& o) { encode_authentication_sasl_continue(o, "r=abc"); }) ==
        wire({'R', 0, 0, 0, 13, 0, 0, 0, 11, "r=abc"}));
  CHECK(encoded([](Bytes& o) { encode_authentication_sasl_final(o, "v=xyz"); }) ==
        wire({'R', 0, 0, 0, 13, 0, 0, 0, 12, "v=xyz"}));
  CHECK(encoded([](Bytes& o) { encode_parameter_status(o, "client_encoding", "UTF8"); }) ==
        wire({'S', 0, 0, 0, 25, "client_encoding", 0, "UTF8", 0}));
  CHECK(encoded([](Bytes& o) {
          encode_backend_key_data(o, 1234, static_cast<std::int32_t>(0xDEADBEEF));
        }) == wire({'K', 0, 0, 0, 12, 0, 0, 0x04, 0xD2, 0xDE, 0xAD, 0xBE, 0xEF}));
  CHECK(encoded(encode_parse_complete) == wire({'1', 0, 0, 0, 4}));
  CHECK(encoded(encode_close_complete) == wire({'3', 0, 0, 0, 4}));
  CHECK(encoded([](Bytes& o) { encode_command_complete(o, "SELECT 1"); }) ==
        wire({'C', 0, 0, 0, 13, "SELECT 1", 0}));
}

TEST_CASE("golden bytes: ErrorResponse and NoticeResponse") {
  CHECK(encoded([](Bytes& o) {
          encode_error_response(o, test::error_spec("ERROR", "42P01", "boom"));
        }) == wire({'E', 0, 0, 0, 32, 'S', "ERROR", 0, 'V', "ERROR", 0, 'C', "42P01", 0, 'M',
                    "boom", 0, 0}));
  CHECK(encoded([](Bytes& o) {
          encode_error_response(o, test::error_spec("FATAL", "28P01", "boom", "d", "h"));
        }) == wire({'E',     0, 0,   0,      38, 'S', "FATAL", 0, 'V', "FATAL", 0, 'C',
                    "28P01", 0, 'M', "boom", 0,  'D', "d",     0, 'H', "h",     0, 0}));
  CHECK(encoded([](Bytes& o) {
          encode_notice_response(o, test::error_spec("NOTICE", "00000", "hi"));
        }) == wire({'N', 0, 0, 0, 32, 'S', "NOTICE", 0, 'V', "NOTICE", 0, 'C', "00000", 0, 'M',
                    "hi", 0, 0}));
  // Only the hint: no empty 'D' field is written.
  CHECK(encoded([](Bytes& o) {
          encode_error_response(o, test::error_spec("ERROR", "XX000", "m", "", "h"));
        }) == wire({'E', 0,       0, 0,   32,  'S', "ERROR", 0,   'V', "ERROR", 0,
                    'C', "XX000", 0, 'M', "m", 0,   'H',     "h", 0,   0}));
}

TEST_CASE("golden bytes: frontend messages") {
  CHECK(encoded([](Bytes& o) {
          encode_startup(o, {{"user", "bob"}, {"database", "db"}});
        }) == wire({0, 0, 0, 30, 0, 3, 0, 0, "user", 0, "bob", 0, "database", 0, "db", 0, 0}));
  CHECK(encoded([](Bytes& o) { encode_startup(o, {}); }) == wire({0, 0, 0, 9, 0, 3, 0, 0, 0}));
  CHECK(encoded([](Bytes& o) { encode_cancel_request(o, 1234, 5678); }) ==
        wire({0, 0, 0, 16, 0x04, 0xD2, 0x16, 0x2E, 0, 0, 0x04, 0xD2, 0, 0, 0x16, 0x2E}));
  CHECK(encoded([](Bytes& o) { encode_password(o, "secret"); }) ==
        wire({'p', 0, 0, 0, 11, "secret", 0}));
  CHECK(encoded([](Bytes& o) {
          encode_sasl_initial_response(o, "SCRAM-SHA-256", "n,,n=,r=abc");
        }) == wire({'p', 0, 0, 0, 33, "SCRAM-SHA-256", 0, 0, 0, 0, 11, "n,,n=,r=abc"}));
  CHECK(encoded([](Bytes& o) { encode_sasl_response(o, "c=biws"); }) ==
        wire({'p', 0, 0, 0, 10, "c=biws"}));
  CHECK(encoded([](Bytes& o) { encode_query(o, "SELECT 1"); }) ==
        wire({'Q', 0, 0, 0, 13, "SELECT 1", 0}));
  CHECK(encoded([](Bytes& o) { encode_parse(o, "s1", "SELECT $1", {23}); }) ==
        wire({'P', 0, 0, 0, 23, "s1", 0, "SELECT $1", 0, 0, 1, 0, 0, 0, 23}));
  CHECK(encoded([](Bytes& o) { encode_parse(o, "", "SELECT 1", {}); }) ==
        wire({'P', 0, 0, 0, 16, 0, "SELECT 1", 0, 0, 0}));
  CHECK(encoded([](Bytes& o) { encode_close(o, 'S', "s1"); }) ==
        wire({'C', 0, 0, 0, 8, 'S', "s1", 0}));
  CHECK(encoded(encode_sync) == wire({'S', 0, 0, 0, 4}));
  CHECK(encoded(encode_flush) == wire({'H', 0, 0, 0, 4}));
  CHECK(encoded(encode_terminate) == wire({'X', 0, 0, 0, 4}));
}

TEST_CASE("MessageWriter appends after existing bytes and writes big-endian integers") {
  Bytes out = {0xAA};
  MessageWriter(out, 'x').int8(0x80).int16(-2).int32(-2).bytes(wire({1, 2})).finish();
  CHECK(out == wire({0xAA, 'x', 0, 0, 0, 13, 0x80, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0xFE, 1, 2}));

  Bytes untyped;
  MessageWriter(untyped, kUntyped).int16(0x0102).finish();
  CHECK(untyped == wire({0, 0, 0, 6, 1, 2}));

  // Encoders append; two in a row form a valid two-message stream.
  Bytes two;
  encode_sync(two);
  encode_ready_for_query(two, 'T');
  CHECK(two == wire({'S', 0, 0, 0, 4, 'Z', 0, 0, 0, 5, 'T'}));
}

TEST_CASE("round trips: encode then decode") {
  Bytes out;
  encode_error_response(out, test::error_spec("FATAL", "53300", "too many", "d", "h"));
  Frame frame = only_frame(out);
  CHECK(frame.type == backend::kErrorResponse);
  auto error = decode_error_fields(frame.body);
  REQUIRE(error);
  CHECK(error->severity() == "FATAL");
  CHECK(error->get('S') == "FATAL");
  CHECK(error->sqlstate() == "53300");
  CHECK(error->message() == "too many");
  CHECK(error->detail() == "d");
  CHECK(error->hint() == "h");

  out.clear();
  encode_notice_response(out, test::error_spec("WARNING", "01000", "w"));
  frame = only_frame(out);
  CHECK(frame.type == backend::kNoticeResponse);
  error = decode_error_fields(frame.body);
  REQUIRE(error);
  CHECK(error->fields.size() == 4);
  CHECK(error->severity() == "WARNING");

  out.clear();
  const std::uint8_t salt[4] = {9, 8, 7, 6};
  encode_authentication_md5(out, salt);
  auto auth = decode_authentication(only_frame(out).body);
  REQUIRE(auth);
  CHECK(auth->code == 5);
  CHECK(std::equal(salt, salt + 4, auth->md5_salt));

  for (auto encode : {encode_authentication_ok, encode_authentication_cleartext}) {
    out.clear();
    encode(out);
    CHECK(decode_authentication(only_frame(out).body));
  }

  out.clear();
  encode_authentication_sasl(out, {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
  auth = decode_authentication(only_frame(out).body);
  REQUIRE(auth);
  CHECK(auth->sasl_mechanisms == std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});

  out.clear();
  encode_authentication_sasl_final(out, "v=abc");
  auth = decode_authentication(only_frame(out).body);
  REQUIRE(auth);
  CHECK(auth->code == 12);
  CHECK(test::to_string(auth->sasl_data) == "v=abc");

  out.clear();
  encode_parameter_status(out, "server_version", "15.4");
  const auto status = decode_parameter_status(only_frame(out).body);
  REQUIRE(status);
  CHECK(status->name == "server_version");
  CHECK(status->value == "15.4");

  out.clear();
  encode_backend_key_data(out, -7, INT32_MAX);
  const auto key = decode_backend_key_data(only_frame(out).body);
  REQUIRE(key);
  CHECK(key->pid == -7);
  CHECK(key->key == INT32_MAX);

  out.clear();
  encode_ready_for_query(out, 'E');
  CHECK(decode_ready_for_query(only_frame(out).body) == 'E');

  out.clear();
  encode_command_complete(out, "UPDATE 7");
  CHECK(decode_command_complete(only_frame(out).body) == "UPDATE 7");
}

TEST_CASE("round trips: frontend messages") {
  Bytes out;
  encode_startup(out, {{"user", "u"}, {"application_name", "app"}});
  auto startup = decode_startup(only_frame(out, true).body);
  REQUIRE(startup);
  CHECK(startup->protocol == kProtocolV3);
  CHECK(startup->parameters == std::vector<std::pair<std::string, std::string>>{
                                   {"user", "u"}, {"application_name", "app"}});

  out.clear();
  encode_cancel_request(out, 42, -42);
  startup = decode_startup(only_frame(out, true).body);
  REQUIRE(startup);
  CHECK(startup->kind == StartupKind::CancelRequest);
  CHECK(startup->cancel_pid == 42);
  CHECK(startup->cancel_key == -42);

  out.clear();
  encode_password(out, "md5deadbeef");
  CHECK(decode_password(only_frame(out).body) == "md5deadbeef");

  out.clear();
  encode_sasl_initial_response(out, "SCRAM-SHA-256", "n,,n=,r=xyz");
  const auto initial = decode_sasl_initial_response(only_frame(out).body);
  REQUIRE(initial);
  CHECK(initial->mechanism == "SCRAM-SHA-256");
  CHECK(test::to_string(initial->data) == "n,,n=,r=xyz");

  out.clear();
  encode_query(out, "BEGIN");
  CHECK(decode_query(only_frame(out).body) == "BEGIN");

  out.clear();
  encode_parse(out, "stmt", "SELECT $1::int, $2", {23, 0, 0xFFFFFFFF});
  const auto parse = decode_parse(only_frame(out).body);
  REQUIRE(parse);
  CHECK(parse->statement == "stmt");
  CHECK(parse->query == "SELECT $1::int, $2");
  CHECK(parse->parameter_types == std::vector<std::uint32_t>{23, 0, 0xFFFFFFFF});

  out.clear();
  encode_close(out, 'P', "portal");
  const auto close = decode_close(only_frame(out).body);
  REQUIRE(close);
  CHECK(close->kind == 'P');
  CHECK(close->name == "portal");

  for (auto encode : {encode_sync, encode_flush, encode_terminate}) {
    out.clear();
    encode(out);
    CHECK(decode_empty(only_frame(out).body));
  }

  // Messages without a dedicated encoder, built with MessageWriter.
  out.clear();
  MessageWriter(out, frontend::kBind)
      .cstring("")
      .cstring("stmt")
      .int16(0)
      .int16(2)
      .int32(-1)
      .int32(3)
      .bytes(as_bytes("abc"))
      .int16(1)
      .int16(1)
      .finish();
  const auto bind = decode_bind(only_frame(out).body);
  REQUIRE(bind);
  CHECK(bind->statement == "stmt");
  REQUIRE(bind->parameters.size() == 2);
  CHECK_FALSE(bind->parameters[0]);
  CHECK(test::to_string(*bind->parameters[1]) == "abc");
  CHECK(bind->result_formats == std::vector<std::int16_t>{1});

  out.clear();
  MessageWriter(out, frontend::kExecute).cstring("").int32(0).finish();
  const auto execute = decode_execute(only_frame(out).body);
  REQUIRE(execute);
  CHECK(execute->max_rows == 0);

  out.clear();
  MessageWriter(out, frontend::kDescribe).int8('S').cstring("stmt").finish();
  const auto describe = decode_describe(only_frame(out).body);
  REQUIRE(describe);
  CHECK(describe->name == "stmt");
}

TEST_CASE("encode_error_with_severity keeps every field of PostgreSQL's error but the severity") {
  Bytes original;
  MessageWriter(original, backend::kErrorResponse)
      .int8('S').cstring("FATAL")
      .int8('V').cstring("FATAL")
      .int8('C').cstring("57P01")
      .int8('M').cstring("terminating connection due to administrator command")
      .int8('F').cstring("postgres.c")
      .int8('L').cstring("3212")
      .int8(0)
      .finish();
  const auto fields = decode_error_fields(only_frame(original).body);
  REQUIRE(fields);
  Bytes out;
  encode_error_with_severity(out, *fields, "ERROR");
  const Frame frame = only_frame(out);
  CHECK(frame.type == backend::kErrorResponse);
  const auto rewritten = decode_error_fields(frame.body);
  REQUIRE(rewritten);
  REQUIRE(rewritten->fields.size() == fields->fields.size());
  CHECK(rewritten->get('S') == "ERROR");
  CHECK(rewritten->severity() == "ERROR");
  CHECK(rewritten->sqlstate() == "57P01");
  CHECK(rewritten->message() == "terminating connection due to administrator command");
  CHECK(rewritten->get('F') == "postgres.c");
  CHECK(rewritten->get('L') == "3212");
}
