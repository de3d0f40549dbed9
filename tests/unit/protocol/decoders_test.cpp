#include <doctest/doctest.h>

#include "protocol/messages.h"
#include "wire.h"

using namespace ouroboros;
using namespace ouroboros::protocol;
using ouroboros::test::wire;

namespace {

// Every proper prefix of a valid body and the body with a byte appended must be rejected.
// Each candidate is a fresh heap copy of exactly its size so ASan catches any over-read.
// Tests keep each body in a named Bytes: decoded views point into it.
template <typename Decode>
void check_strict(Decode decode, const Bytes& body) {
  REQUIRE(static_cast<bool>(decode(Bytes(body))));
  for (std::size_t n = 0; n < body.size(); ++n) {
    const Bytes prefix(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
    CAPTURE(n);
    CHECK_FALSE(static_cast<bool>(decode(prefix)));
  }
  for (std::uint8_t extra : {std::uint8_t{0}, std::uint8_t{'x'}}) {
    Bytes longer = body;
    longer.push_back(extra);
    CHECK_FALSE(static_cast<bool>(decode(longer)));
  }
}

}  // namespace

TEST_CASE("decode_startup: StartupMessage") {
  const Bytes body =
      wire({0, 3, 0, 0, "user", 0, "alice", 0, "database", 0, "app", 0, "options", 0, "", 0, 0});
  const auto packet = decode_startup(body);
  REQUIRE(packet);
  CHECK(packet->kind == StartupKind::Startup);
  CHECK(packet->protocol == kProtocolV3);
  REQUIRE(packet->parameters.size() == 3);
  CHECK(packet->parameters[1] == std::pair<std::string, std::string>("database", "app"));
  CHECK(packet->parameter("user") == "alice");
  CHECK(packet->parameter("options") == "");
  CHECK_FALSE(packet->parameter("application_name"));
  check_strict(decode_startup, body);

  // Any 3.x minor version is accepted; other majors are not.
  const auto minor = decode_startup(wire({0, 3, 0, 2, "user", 0, "u", 0, 0}));
  REQUIRE(minor);
  CHECK(minor->protocol == 196610);
  CHECK_FALSE(decode_startup(wire({0, 2, 0, 0, "user", 0, "u", 0, 0})));
  CHECK_FALSE(decode_startup(wire({0, 4, 0, 0, "user", 0, "u", 0, 0})));
  CHECK_FALSE(decode_startup(wire({0xFF, 3, 0, 0, "user", 0, "u", 0, 0})));
  CHECK_FALSE(decode_startup(wire({0x04, 0xD2, 0x16, 0x2A})));  // unknown request code

  // "user" is required; a name without a value or a missing final terminator is malformed.
  CHECK_FALSE(decode_startup(wire({0, 3, 0, 0, "database", 0, "app", 0, 0})));
  CHECK_FALSE(decode_startup(wire({0, 3, 0, 0, 0})));
  CHECK_FALSE(decode_startup(wire({0, 3, 0, 0, "user", 0, "u", 0, "database", 0, 0})));
  CHECK_FALSE(decode_startup(wire({0, 3, 0, 0, "user", 0, "u", 0})));
  CHECK_FALSE(decode_startup(wire({0, 3, 0, 0, "user", 0, "u"})));
  CHECK_FALSE(decode_startup(wire({0, 3, 0, 0, "user", 0, "u", 0, 0, 0})));
}

TEST_CASE("decode_startup: SSLRequest, GSSENCRequest and CancelRequest") {
  const Bytes ssl = wire({0x04, 0xD2, 0x16, 0x2F});
  REQUIRE(decode_startup(ssl));
  CHECK(decode_startup(ssl)->kind == StartupKind::SslRequest);
  check_strict(decode_startup, ssl);

  const Bytes gss = wire({0x04, 0xD2, 0x16, 0x30});
  REQUIRE(decode_startup(gss));
  CHECK(decode_startup(gss)->kind == StartupKind::GssEncRequest);
  check_strict(decode_startup, gss);

  const Bytes cancel = wire({0x04, 0xD2, 0x16, 0x2E, 0, 0, 0x30, 0x39, 0xDE, 0xAD, 0xBE, 0xEF});
  const auto packet = decode_startup(cancel);
  REQUIRE(packet);
  CHECK(packet->kind == StartupKind::CancelRequest);
  CHECK(packet->cancel_pid == 12345);
  CHECK(packet->cancel_key == static_cast<std::int32_t>(0xDEADBEEF));
  check_strict(decode_startup, cancel);
}

TEST_CASE("decode_authentication") {
  SUBCASE("Ok and CleartextPassword") {
    for (int code : {0, 3}) {
      const Bytes body = wire({0, 0, 0, code});
      const auto request = decode_authentication(body);
      REQUIRE(request);
      CHECK(request->code == code);
      check_strict(decode_authentication, body);
    }
  }
  SUBCASE("Md5Password") {
    const Bytes body = wire({0, 0, 0, 5, 0x01, 0xAB, 0x00, 0xFF});
    const auto request = decode_authentication(body);
    REQUIRE(request);
    CHECK(request->code == static_cast<std::int32_t>(AuthCode::Md5Password));
    CHECK(request->md5_salt[0] == 0x01);
    CHECK(request->md5_salt[1] == 0xAB);
    CHECK(request->md5_salt[2] == 0x00);
    CHECK(request->md5_salt[3] == 0xFF);
    check_strict(decode_authentication, body);
  }
  SUBCASE("SASL mechanism list") {
    const Bytes body = wire({0, 0, 0, 10, "SCRAM-SHA-256-PLUS", 0, "SCRAM-SHA-256", 0, 0});
    const auto request = decode_authentication(body);
    REQUIRE(request);
    CHECK(request->sasl_mechanisms ==
          std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
    check_strict(decode_authentication, body);
    CHECK(decode_authentication(wire({0, 0, 0, 10, 0}))->sasl_mechanisms.empty());
    CHECK_FALSE(decode_authentication(wire({0, 0, 0, 10, "SCRAM-SHA-256", 0})));
  }
  SUBCASE("SASLContinue and SASLFinal carry the rest of the body") {
    for (int code : {11, 12}) {
      const Bytes request_body = wire({0, 0, 0, code, "r=abc,s=x", 0});
      const auto request = decode_authentication(request_body);
      REQUIRE(request);
      CHECK(request->code == code);
      CHECK(test::to_bytes(request->sasl_data) == wire({"r=abc,s=x", 0}));
      const Bytes empty_body = wire({0, 0, 0, code});
      const auto empty = decode_authentication(empty_body);
      REQUIRE(empty);
      CHECK(empty->sasl_data.empty());
    }
  }
  SUBCASE("other methods keep their code") {
    for (int code : {2, 7, 9}) {
      const Bytes request_body = wire({0, 0, 0, code});
      const auto request = decode_authentication(request_body);
      REQUIRE(request);
      CHECK(request->code == code);
    }
    const Bytes gss_continue_body = wire({0, 0, 0, 8, 1, 2, 3});
    const auto gss_continue = decode_authentication(gss_continue_body);
    REQUIRE(gss_continue);
    CHECK(gss_continue->code == 8);
    CHECK(decode_authentication(wire({0xFF, 0xFF, 0xFF, 0xFF}))->code == -1);
  }
  SUBCASE("truncated code") {
    for (std::size_t n = 0; n < 4; ++n) CHECK_FALSE(decode_authentication(Bytes(n, 0)));
  }
}

TEST_CASE("decode_sasl_initial_response and decode_password") {
  const Bytes body = wire({"SCRAM-SHA-256", 0, 0, 0, 0, 5, "n,,ab"});
  const auto response = decode_sasl_initial_response(body);
  REQUIRE(response);
  CHECK(response->mechanism == "SCRAM-SHA-256");
  CHECK(test::to_string(response->data) == "n,,ab");
  check_strict(decode_sasl_initial_response, body);

  const Bytes no_data = wire({"SCRAM-SHA-256", 0, 0xFF, 0xFF, 0xFF, 0xFF});
  const auto absent = decode_sasl_initial_response(no_data);
  REQUIRE(absent);
  CHECK(absent->data.empty());
  check_strict(decode_sasl_initial_response, no_data);
  CHECK(decode_sasl_initial_response(wire({"M", 0, 0, 0, 0, 0})));

  CHECK_FALSE(decode_sasl_initial_response(wire({"M", 0, 0xFF, 0xFF, 0xFF, 0xFE})));  // -2
  CHECK_FALSE(decode_sasl_initial_response(wire({"M", 0, 0x80, 0, 0, 0})));
  CHECK_FALSE(decode_sasl_initial_response(wire({"M", 0, 0x7F, 0xFF, 0xFF, 0xFF, "ab"})));
  CHECK_FALSE(decode_sasl_initial_response(wire({"M", 0, 0, 0, 0, 3, "ab"})));
  CHECK_FALSE(decode_sasl_initial_response(wire({"M", 0, 0, 0, 0, 1, "ab"})));
  CHECK_FALSE(decode_sasl_initial_response(wire({"M"})));

  const Bytes password = wire({"md5abc", 0});
  CHECK(decode_password(password) == "md5abc");
  check_strict(decode_password, password);
  CHECK(decode_password(wire({0})) == "");
}

TEST_CASE("backend status messages") {
  const Bytes key = wire({0, 0, 0x30, 0x39, 0x80, 0, 0, 0});
  const auto data = decode_backend_key_data(key);
  REQUIRE(data);
  CHECK(data->pid == 12345);
  CHECK(data->key == INT32_MIN);
  check_strict(decode_backend_key_data, key);

  const Bytes status = wire({"TimeZone", 0, "Etc/UTC", 0});
  const auto parameter = decode_parameter_status(status);
  REQUIRE(parameter);
  CHECK(parameter->name == "TimeZone");
  CHECK(parameter->value == "Etc/UTC");
  check_strict(decode_parameter_status, status);
  CHECK_FALSE(decode_parameter_status(wire({"TimeZone", 0})));

  for (char state : {'I', 'T', 'E'}) {
    CHECK(decode_ready_for_query(wire({state})) == state);
    check_strict(decode_ready_for_query, wire({state}));
  }
  CHECK_FALSE(decode_ready_for_query(wire({'X'})));
  CHECK_FALSE(decode_ready_for_query(wire({0})));

  const Bytes tag = wire({"INSERT 0 1", 0});
  CHECK(decode_command_complete(tag) == "INSERT 0 1");
  check_strict(decode_command_complete, tag);
  CHECK_FALSE(decode_command_complete(wire({"INSERT 0 1"})));
}

TEST_CASE("decode_error_fields") {
  const Bytes body = wire({'S', "FEHLER", 0, 'V', "ERROR", 0, 'C', "42P01", 0, 'M', "no table", 0,
                           'D', "detail", 0, 'H', "hint",  0, 'P', "15",    0, 0});
  const auto error = decode_error_fields(body);
  REQUIRE(error);
  CHECK(error->fields.size() == 7);
  CHECK(error->severity() == "ERROR");
  CHECK(error->sqlstate() == "42P01");
  CHECK(error->message() == "no table");
  CHECK(error->detail() == "detail");
  CHECK(error->hint() == "hint");
  CHECK(error->get('P') == "15");
  CHECK(error->get('W') == "");
  check_strict(decode_error_fields, body);

  // Servers before 9.6 send no 'V': fall back to the (possibly localized) 'S'.
  const Bytes old_body = wire({'S', "FATAL", 0, 'M', "m", 0, 0});
  const auto old = decode_error_fields(old_body);
  REQUIRE(old);
  CHECK(old->severity() == "FATAL");
  CHECK(decode_error_fields(wire({0}))->fields.empty());
  CHECK_FALSE(decode_error_fields(wire({'S', "ERROR", 0})));
  CHECK_FALSE(decode_error_fields(wire({'S', "ERROR"})));
  CHECK_FALSE(decode_error_fields(wire({'S'})));
}

TEST_CASE("decode_query and decode_parse") {
  const Bytes query = wire({"SELECT 1; SELECT 2", 0});
  CHECK(decode_query(query) == "SELECT 1; SELECT 2");
  check_strict(decode_query, query);

  const Bytes body = wire({"s1", 0, "SELECT $1, $2", 0, 0, 2, 0, 0, 0, 23, 0xFF, 0xFF, 0xFF, 0xFF});
  const auto parse = decode_parse(body);
  REQUIRE(parse);
  CHECK(parse->statement == "s1");
  CHECK(parse->query == "SELECT $1, $2");
  CHECK(parse->parameter_types == std::vector<std::uint32_t>{23, 0xFFFFFFFF});
  check_strict(decode_parse, body);

  const Bytes unnamed_body = wire({0, "SELECT 1", 0, 0, 0});
  const auto unnamed = decode_parse(unnamed_body);
  REQUIRE(unnamed);
  CHECK(unnamed->statement == "");
  CHECK(unnamed->parameter_types.empty());

  CHECK_FALSE(decode_parse(wire({0, "SELECT 1", 0, 0xFF, 0xFF})));        // count -1
  CHECK_FALSE(decode_parse(wire({0, "SELECT 1", 0, 0x7F, 0xFF, 0, 0})));  // 32767, no data
  CHECK_FALSE(decode_parse(wire({0, "SELECT 1", 0, 0, 1, 0, 0, 0})));     // short OID
}

TEST_CASE("decode_bind") {
  // Portal "p", statement "s1", formats {1}, parameters {"42", NULL, ""}, result formats {0, 1}.
  const Bytes body = wire({"p",  0,    "s1", 0,    0, 1, 0, 1, 0, 3, 0, 0, 0, 2, "42",
                           0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1});
  const auto bind = decode_bind(body);
  REQUIRE(bind);
  CHECK(bind->portal == "p");
  CHECK(bind->statement == "s1");
  CHECK(bind->parameter_formats == std::vector<std::int16_t>{1});
  REQUIRE(bind->parameters.size() == 3);
  REQUIRE(bind->parameters[0]);
  CHECK(test::to_string(*bind->parameters[0]) == "42");
  CHECK_FALSE(bind->parameters[1]);
  REQUIRE(bind->parameters[2]);
  CHECK(bind->parameters[2]->empty());
  CHECK(bind->result_formats == std::vector<std::int16_t>{0, 1});
  check_strict(decode_bind, body);

  const Bytes minimal_body = wire({0, 0, 0, 0, 0, 0, 0, 0});
  const auto minimal = decode_bind(minimal_body);
  REQUIRE(minimal);
  CHECK(minimal->parameters.empty());

  CHECK_FALSE(decode_bind(wire({0, 0, 0xFF, 0xFF, 0, 0, 0, 0})));  // formats -1
  CHECK_FALSE(decode_bind(wire({0, 0, 0, 0, 0x80, 0, 0, 0})));     // parameters < 0
  CHECK_FALSE(decode_bind(wire({0, 0, 0, 0, 0, 0, 0xFF, 0xFE})));  // results -2
  CHECK_FALSE(decode_bind(wire({0, 0, 0, 0, 0x7F, 0xFF, 0, 0})));  // 32767, no data
  CHECK_FALSE(decode_bind(wire({0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0})));  // len -2
  CHECK_FALSE(decode_bind(wire({0, 0, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0})));  // huge len
  CHECK_FALSE(decode_bind(wire({0, 0, 0, 0, 0, 1, 0, 0, 0, 3, "ab", 0, 0})));        // len > rest
}

TEST_CASE("decode_bind_names accepts and refuses exactly what decode_bind does") {
  const Bytes body = wire({"p",  0,    "s1", 0,    0, 1, 0, 1, 0, 3, 0, 0, 0, 2, "42",
                           0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1});
  const auto names = decode_bind_names(body);
  REQUIRE(names);
  CHECK(names->portal == "p");
  CHECK(names->statement == "s1");
  check_strict(decode_bind_names, body);
  for (const Bytes& bad : {wire({0, 0, 0xFF, 0xFF, 0, 0, 0, 0}), wire({0, 0, 0, 0, 0x80, 0, 0, 0}),
                           wire({0, 0, 0, 0, 0, 0, 0xFF, 0xFE}), wire({0, 0, 0, 0, 0x7F, 0xFF, 0, 0}),
                           wire({0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE, 0, 0}),
                           wire({0, 0, 0, 0, 0, 1, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0}),
                           wire({0, 0, 0, 0, 0, 1, 0, 0, 0, 3, "ab", 0, 0})}) {
    CHECK_FALSE(decode_bind(bad));
    CHECK_FALSE(decode_bind_names(bad));
  }
  // Every prefix and every single-byte change of a valid Bind: the two agree.
  for (std::size_t n = 0; n <= body.size(); ++n) {
    const Bytes prefix(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(static_cast<bool>(decode_bind(prefix)) == static_cast<bool>(decode_bind_names(prefix)));
  }
  for (std::size_t i = 0; i < body.size(); ++i) {
    for (std::uint8_t value : {std::uint8_t{0}, std::uint8_t{1}, std::uint8_t{0x7F}, std::uint8_t{0xFF}}) {
      Bytes changed = body;
      changed[i] = value;
      CAPTURE(i);
      CAPTURE(int{value});
      const auto full = decode_bind(changed);
      const auto quick = decode_bind_names(changed);
      REQUIRE(static_cast<bool>(full) == static_cast<bool>(quick));
      if (full) CHECK((full->portal == quick->portal && full->statement == quick->statement));
    }
  }
}

TEST_CASE("decode_describe, decode_close, decode_execute, decode_empty") {
  for (char kind : {'S', 'P'}) {
    const Bytes body = wire({kind, "name", 0});
    const auto describe = decode_describe(body);
    REQUIRE(describe);
    CHECK(describe->kind == kind);
    CHECK(describe->name == "name");
    check_strict(decode_describe, body);
    const auto close = decode_close(body);
    REQUIRE(close);
    CHECK(close->kind == kind);
    CHECK(close->name == "name");
    check_strict(decode_close, body);
  }
  CHECK(decode_close(wire({'S', 0}))->name == "");
  CHECK_FALSE(decode_describe(wire({'X', "name", 0})));
  CHECK_FALSE(decode_close(wire({'s', "name", 0})));

  const Bytes execute = wire({"portal", 0, 0, 0, 0x01, 0x00});
  const auto decoded = decode_execute(execute);
  REQUIRE(decoded);
  CHECK(decoded->portal == "portal");
  CHECK(decoded->max_rows == 256);
  check_strict(decode_execute, execute);

  CHECK(decode_empty({}));
  CHECK_FALSE(decode_empty(wire({0})));
}
