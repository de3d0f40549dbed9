// listen.tls and databases.<name>.tls: values, defaults and every validation error.
#include <doctest/doctest.h>

#include "test_support.h"

using namespace ouroboros::config;
using namespace ouroboros::config::test;

TEST_CASE("TLS is off on both sides unless configured") {
  const LoadResult result = parse(minimal());
  REQUIRE(result.config);
  CHECK(result.config->listen.tls.mode == ClientTlsMode::Disable);
  CHECK(result.config->databases.at("appdb").tls.mode == ServerTlsMode::Disable);
}

TEST_CASE("listen.tls and a database's tls are read") {
  const LoadResult result = parse(R"(listen:
  tls:
    mode: require
    cert_file: /tls/server.crt
    key_file: /tls/server.key
    ca_file: /tls/ca.crt
    client_certificate: optional
databases:
  appdb:
    host: db.internal
    tls: { mode: verify-full, ca_file: /tls/db-ca.crt, cert_file: /tls/c.crt, key_file: /tls/c.key, server_name: db.example }
)");
  REQUIRE_MESSAGE(result.config, all_errors(result));
  const auto& tls = result.config->listen.tls;
  CHECK(tls.mode == ClientTlsMode::Require);
  CHECK(tls.cert_file == "/tls/server.crt");
  CHECK(tls.key_file == "/tls/server.key");
  CHECK(tls.ca_file == "/tls/ca.crt");
  CHECK(tls.client_certificate == ClientCertificate::Optional);
  const auto& db = result.config->databases.at("appdb").tls;
  CHECK(db.mode == ServerTlsMode::VerifyFull);
  CHECK(db.ca_file == "/tls/db-ca.crt");
  CHECK(db.cert_file == "/tls/c.crt");
  CHECK(db.key_file == "/tls/c.key");
  CHECK(db.server_name == "db.example");
}

TEST_CASE("every libpq sslmode is a database tls mode") {
  for (auto [text, mode] : {std::pair{"disable", ServerTlsMode::Disable},
                            {"allow", ServerTlsMode::Allow},
                            {"prefer", ServerTlsMode::Prefer},
                            {"require", ServerTlsMode::Require},
                            {"verify-ca", ServerTlsMode::VerifyCa},
                            {"verify-full", ServerTlsMode::VerifyFull}}) {
    CAPTURE(text);
    const LoadResult result =
        parse(std::string("databases:\n  appdb: { host: h, tls: { mode: ") + text + " } }\n");
    REQUIRE_MESSAGE(result.config, all_errors(result));
    CHECK(result.config->databases.at("appdb").tls.mode == mode);
  }
}

TEST_CASE("unknown TLS modes list the valid ones") {
  check_error(parse(minimal("listen: { tls: { mode: prefer } }\n")), "listen.tls.mode", 3, 24,
              "unknown value 'prefer'; valid values are: disable, allow, require");
  check_error(parse("databases:\n  appdb: { host: h, tls: { mode: verify } }\n"),
              "databases.appdb.tls.mode", 2, 34,
              "valid values are: disable, allow, prefer, require, verify-ca, verify-full");
  check_error(parse(minimal(
                  "listen: { tls: { mode: require, cert_file: a, key_file: b, client_certificate: "
                  "yes, ca_file: c } }\n")),
              "listen.tls.client_certificate", 3, 80, "valid values are: none, optional, required");
}

TEST_CASE("TLS towards clients needs a certificate and a key") {
  const LoadResult result = parse(minimal("listen: { tls: { mode: require } }\n"));
  check_error(result, "listen.tls.mode", 3, 24, "listen.tls.cert_file is required");
  CHECK(all_errors(result).find("listen.tls.key_file is required") != std::string::npos);
}

TEST_CASE("client certificates need a CA file and TLS") {
  check_error(
      parse(minimal("listen: { tls: { mode: allow, cert_file: a, key_file: b, client_certificate: "
                    "required } }\n")),
      "listen.tls.client_certificate", 3, 78, "listen.tls.ca_file is required");
  check_error(parse(minimal("listen: { tls: { client_certificate: required, ca_file: c } }\n")),
              "listen.tls.client_certificate", 3, 38, "client certificates need TLS");
}

TEST_CASE("a database's client certificate needs both files; unknown keys are reported") {
  check_error(parse("databases:\n  appdb: { host: h, tls: { mode: require, cert_file: c } }\n"),
              "databases.appdb.tls.cert_file", 2, 54, "needs its key_file too");
  check_error(parse("databases:\n  appdb: { host: h, tls: { mode: require, key_file: k } }\n"),
              "databases.appdb.tls.key_file", 2, 53, "needs its cert_file too");
  check_error(parse("databases:\n  appdb: { host: h, tls: { mode: require, sslrootcert: k } }\n"),
              "databases.appdb.tls.sslrootcert", 2, 43, "unknown key 'sslrootcert'");
}
