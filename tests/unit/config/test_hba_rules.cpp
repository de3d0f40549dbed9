// Host-based rules: pg_hba.conf syntax, every error with its line, first-match-wins matching.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "auth/hba_decision.h"
#include "config/hba_rules.h"
#include "test_support.h"

using namespace ouroboros::config;

namespace {

HbaRules parse_ok(const std::string& text) {
  HbaParseResult result = parse_hba(text, "hba.conf");
  for (const auto& e : result.errors) FAIL_CHECK("line " << e.line << ": " << e.message);
  return result.rules;
}

// The only error of `text`: on `line`, containing `message`.
void check_hba_error(const std::string& text, int line, const std::string& message) {
  CAPTURE(text);
  HbaParseResult result = parse_hba(text, "hba.conf");
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].line == line);
  CHECK_MESSAGE(result.errors[0].message.find(message) != std::string::npos,
                result.errors[0].message);
}

ConnectionFacts tcp(const std::string& ip, bool tls = false) {
  ConnectionFacts facts;
  facts.peer_ip = ip;
  facts.is_tls = tls;
  return facts;
}

ConnectionFacts unix_socket() {
  ConnectionFacts facts;
  facts.is_unix = true;
  return facts;
}

int matched_line(const HbaRules& rules, const ConnectionFacts& facts, const std::string& db,
                 const std::string& user) {
  const HbaRule* rule = match_hba(rules, facts, db, user);
  return rule ? rule->line : 0;
}

}  // namespace

TEST_CASE("hba: every connection type, column and method parses") {
  HbaRules rules = parse_ok(
      "# comment line\n"
      "\n"
      "local   all         all                      trust\n"
      "host    app,other   alice,\"Bob Smith\"  127.0.0.1/32   scram-sha-256  # trailing comment\n"
      "hostssl sameuser    all  ::1/128   cert\n"
      "hostnossl \"all\"   all  10.0.0.0  255.0.0.0  md5\n"
      "host    all   all   all   reject\n"
      "host    db1, db2  u1, u2   0.0.0.0/0   md5\n");
  REQUIRE(rules.rules.size() == 6);
  CHECK(rules.file == "hba.conf");
  const HbaRule& local = rules.rules[0];
  CHECK(local.line == 3);
  CHECK(local.type == HbaConnectionType::Local);
  CHECK(local.databases.all);
  CHECK(local.users.all);
  CHECK_FALSE(local.network);
  CHECK(local.method == HbaMethod::Trust);
  const HbaRule& host = rules.rules[1];
  CHECK(host.line == 4);
  CHECK(host.databases.names == std::vector<std::string>{"app", "other"});
  CHECK(host.users.names == std::vector<std::string>{"alice", "Bob Smith"});
  CHECK(host.method == HbaMethod::ScramSha256);
  CHECK(rules.rules[2].type == HbaConnectionType::HostSsl);
  CHECK(rules.rules[2].databases.same_user);
  CHECK(rules.rules[2].method == HbaMethod::Cert);
  // A quoted keyword is a plain name.
  CHECK_FALSE(rules.rules[3].databases.all);
  CHECK(rules.rules[3].databases.names == std::vector<std::string>{"all"});
  CHECK(rules.rules[3].type == HbaConnectionType::HostNoSsl);
  CHECK(rules.rules[3].method == HbaMethod::Md5);
  CHECK_FALSE(rules.rules[4].network);
  CHECK(rules.rules[4].method == HbaMethod::Reject);
  CHECK(rules.rules[5].databases.names == std::vector<std::string>{"db1", "db2"});
  CHECK(rules.rules[5].users.names == std::vector<std::string>{"u1", "u2"});
}

TEST_CASE("hba: a doubled quote inside quotes is a literal quote") {
  HbaRules rules = parse_ok("local \"a\"\"b\" all trust\n");
  REQUIRE(rules.rules.size() == 1);
  CHECK(rules.rules[0].databases.names == std::vector<std::string>{"a\"b"});
}

TEST_CASE("hba: every error names its line") {
  check_hba_error("local all all trust\nhosts all all 1.2.3.4/32 md5\n", 2,
                  "invalid connection type \"hosts\"");
  check_hba_error("hostgssenc all all all md5\n", 1,
                  "not supported by the proxy (no GSSAPI encryption)");
  check_hba_error("hostnogssenc all all all md5\n", 1,
                  "not supported by the proxy (no GSSAPI encryption)");
  check_hba_error("include other.conf\n", 1, "\"include\" is not supported");
  check_hba_error("local\n", 1, "missing database name");
  check_hba_error("local all\n", 1, "missing user name");
  check_hba_error("local all all\n", 1, "missing authentication method");
  check_hba_error("host all all\n", 1, "missing IP address");
  check_hba_error("host all all 127.0.0.1/32\n", 1, "missing authentication method");
  check_hba_error("local all all password\n", 1,
                  "authentication method \"password\" is not supported");
  check_hba_error("local all all peer\n", 1, "authentication method \"peer\" is not supported");
  check_hba_error("host all all all ldap\n", 1, "authentication method \"ldap\" is not supported");
  check_hba_error("local all +admins trust\n", 1,
                  "group membership (\"+admins\") is not supported");
  check_hba_error("local all @users.txt trust\n", 1,
                  "reading names from a file (\"@users.txt\") is not supported");
  check_hba_error("local @dbs.txt all trust\n", 1, "reading names from a file");
  check_hba_error("local samerole all trust\n", 1, "\"samerole\" is not supported");
  check_hba_error("local samegroup all trust\n", 1, "\"samegroup\" is not supported");
  check_hba_error("host all all samehost md5\n", 1, "\"samehost\" is not supported");
  check_hba_error("host all all samenet md5\n", 1, "\"samenet\" is not supported");
  check_hba_error("host all all db.example.com md5\n", 1, "host names are not supported");
  check_hba_error("host all all 300.1.2.3/32 md5\n", 1, "invalid IP address \"300.1.2.3\"");
  check_hba_error("host all all 127.0.0.1/33 md5\n", 1, "invalid CIDR mask");
  check_hba_error("host all all ::1/129 md5\n", 1, "invalid CIDR mask");
  check_hba_error("host all all 127.0.0.1/x md5\n", 1, "invalid CIDR mask");
  check_hba_error("host all all 127.0.0.1 md5\n", 1, "invalid IP mask \"md5\"");
  check_hba_error("host all all 127.0.0.1\n", 1, "missing IP mask");
  check_hba_error("host all all 127.0.0.1 ffff:: md5\n", 1, "do not match");
  check_hba_error("host all all 127.0.0.1/32 cert\n", 1,
                  "cert authentication is only supported on hostssl");
  check_hba_error("local all all cert\n", 1, "cert authentication is only supported on hostssl");
  check_hba_error("host all all all md5 clientcert=verify-full\n", 1, "authentication options");
  check_hba_error("local \"unterminated all trust\n", 1, "unterminated quoted name");
  check_hba_error("local a,,b all trust\n", 1, "empty name");
  check_hba_error("local a, all trust\n", 1, "missing authentication method");
  check_hba_error("host all all 1.2.3.4/32,5.6.7.8/32 md5\n", 1,
                  "a list is not allowed for the IP address");
  check_hba_error("local all all trust,md5\n", 1,
                  "a list is not allowed for the authentication method");
}

TEST_CASE("hba: all errors of a file are reported") {
  HbaParseResult result =
      parse_hba("bad all all trust\nlocal all all trust\nlocal all all nope\n", "f");
  REQUIRE(result.errors.size() == 2);
  CHECK(result.errors[0].line == 1);
  CHECK(result.errors[1].line == 3);
}

TEST_CASE("hba: the first matching line wins, no match refuses") {
  HbaRules rules = parse_ok(
      "local     all   all                     trust\n"
      "host      all   blocked  all            reject\n"
      "hostssl   all   all      127.0.0.1/32   cert\n"
      "hostnossl app   all      127.0.0.1/32   md5\n"
      "host      all   all      10.1.0.0/16    scram-sha-256\n"
      "host      sameuser all   ::1/128        scram-sha-256\n"
      "host      other all      ::0/0          trust\n");
  CHECK(matched_line(rules, unix_socket(), "app", "u") == 1);
  CHECK(matched_line(rules, tcp("127.0.0.1"), "app", "blocked") == 2);
  CHECK(matched_line(rules, tcp("127.0.0.1", true), "app", "u") == 3);
  CHECK(matched_line(rules, tcp("127.0.0.1"), "app", "u") ==
        4);  // a non-TLS client never matches hostssl
  CHECK(matched_line(rules, tcp("127.0.0.1"), "postgres", "u") == 0);
  CHECK(matched_line(rules, tcp("10.1.200.3"), "app", "u") == 5);
  CHECK(matched_line(rules, tcp("10.2.0.1"), "app", "u") == 0);
  CHECK(matched_line(rules, tcp("::1"), "alice", "alice") == 6);
  CHECK(matched_line(rules, tcp("::1"), "other", "alice") == 7);
  CHECK(matched_line(rules, tcp("::1"), "app", "alice") == 0);
  // An IPv4 rule never matches an IPv6 client and vice versa, as in PostgreSQL.
  CHECK(matched_line(rules, tcp("::ffff:10.1.0.1"), "app", "u") == 0);
  CHECK(matched_line(rules, tcp("10.1.0.1"), "other", "u") == 5);
  CHECK(matched_line(rules, tcp(""), "app", "u") == 0);
}

TEST_CASE("hba: hostnossl does not match TLS clients; local does not match TCP ones") {
  HbaRules rules = parse_ok("hostnossl all all all trust\nlocal all all md5\n");
  CHECK(matched_line(rules, tcp("127.0.0.1", true), "d", "u") == 0);
  CHECK(matched_line(rules, tcp("127.0.0.1"), "d", "u") == 1);
  CHECK(matched_line(rules, unix_socket(), "d", "u") == 2);
}

TEST_CASE("hba: an address with a mask column") {
  HbaRules rules =
      parse_ok("host all all 192.168.12.10 255.255.255.0 md5\nhost all all fe80::1 ffff:: trust\n");
  CHECK(matched_line(rules, tcp("192.168.12.200"), "d", "u") == 1);
  CHECK(matched_line(rules, tcp("192.168.13.1"), "d", "u") == 0);
  CHECK(matched_line(rules, tcp("fe80::abcd"), "d", "u") == 2);
}

TEST_CASE("hba: replication in the database column never matches") {
  HbaRules rules = parse_ok("host replication all all trust\n");
  CHECK(matched_line(rules, tcp("127.0.0.1"), "replication", "u") == 0);
}

TEST_CASE("hba: PostgreSQL's refusal texts") {
  CHECK(hba_reject_message(tcp("127.0.0.1"), "d", "u") ==
        "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"u\", database \"d\", no "
        "encryption");
  CHECK(hba_no_entry_message(tcp("::1"), "d", "u") ==
        "no pg_hba.conf entry for host \"::1\", user \"u\", database \"d\", no encryption");
  CHECK(hba_no_entry_message(unix_socket(), "d", "u") ==
        "no pg_hba.conf entry for host \"[local]\", user \"u\", database \"d\", no encryption");
  CHECK(hba_reject_message(tcp("127.0.0.1", true), "d", "u") ==
        "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"u\", database \"d\", SSL "
        "encryption");
}

TEST_CASE("hba decision: the line's method replaces auth.type") {
  AuthConfig auth;
  auth.type = AuthType::ScramSha256;
  auto decide = [&](const ConnectionFacts& facts, const std::string& db, const std::string& user) {
    return ouroboros::auth::decide_hba(auth, facts, db, user);
  };
  CHECK(decide(tcp("1.2.3.4"), "d", "u").allowed);
  CHECK(decide(tcp("1.2.3.4"), "d", "u").type == AuthType::ScramSha256);  // no hba file

  auth.hba = parse_ok(
      "host md5db all 127.0.0.1/32 md5\n"
      "host trustdb all 127.0.0.1/32 trust\n"
      "host scramdb all 127.0.0.1/32 scram-sha-256\n"
      "hostssl certdb all 127.0.0.1/32 cert\n"
      "host all all 127.0.0.1/32 reject\n");
  CHECK(decide(tcp("127.0.0.1"), "md5db", "u").type == AuthType::Md5);
  CHECK(decide(tcp("127.0.0.1"), "trustdb", "u").type == AuthType::Trust);
  CHECK(decide(tcp("127.0.0.1"), "scramdb", "u").type == AuthType::ScramSha256);
  auto rejected = decide(tcp("127.0.0.1"), "other", "u");
  CHECK_FALSE(rejected.allowed);
  CHECK(rejected.message.find("pg_hba.conf rejects connection") == 0);
  CHECK(rejected.log_reason == "hba.conf:5 (reject)");
  auto none = decide(tcp("10.0.0.1"), "other", "u");
  CHECK_FALSE(none.allowed);
  CHECK(none.message.find("no pg_hba.conf entry") == 0);

  ConnectionFacts tls = tcp("127.0.0.1", true);
  tls.client_cert_cn = "alice";
  CHECK(decide(tls, "certdb", "alice").allowed);
  CHECK(decide(tls, "certdb", "alice").type == AuthType::Trust);
  auto wrong_cn = decide(tls, "certdb", "bob");
  CHECK_FALSE(wrong_cn.allowed);
  CHECK(wrong_cn.message == "certificate authentication failed for user \"bob\"");
  tls.client_cert_cn.reset();
  CHECK_FALSE(decide(tls, "certdb", "alice").allowed);
  // Without TLS the cert line does not match at all: the reject line does.
  CHECK(decide(tcp("127.0.0.1"), "certdb", "alice").message.find("rejects") != std::string::npos);
}

TEST_CASE(
    "config: auth.hba_file is read, relative to the configuration file, errors with file:line") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ouro_hba_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "good.conf") << "local all all trust\nhost all all 127.0.0.1/32 md5\n";
  std::ofstream(dir / "bad.conf") << "local all all trust\nhost all all nowhere md5\n";
  const std::string yaml_file = (dir / "ouroboros.yaml").string();
  auto load = [&](const std::string& hba) {
    return parse_config(test::minimal("auth:\n  type: trust\n  hba_file: " + hba + "\n"), yaml_file,
                        test::fake_env());
  };
  LoadResult good = load("good.conf");
  REQUIRE(good.config);
  REQUIRE(good.config->auth.hba);
  CHECK(good.config->auth.hba->rules.size() == 2);
  CHECK(good.config->auth.hba->file == (dir / "good.conf").string());

  LoadResult bad = load((dir / "bad.conf").string());
  CHECK_FALSE(bad.config);
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].to_string() == (dir / "bad.conf").string() +
                                         ":2: auth.hba_file: invalid IP address \"nowhere\" (host "
                                         "names are not supported: give an address in "
                                         "CIDR notation)");

  LoadResult missing = load("missing.conf");
  CHECK_FALSE(missing.config);
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].message.find("cannot read the hba file") == 0);
  CHECK(missing.errors[0].line == 5);
  fs::remove_all(dir);
}

TEST_CASE("config: auth.query keys, defaults and errors") {
  LoadResult ok = test::parse(
      test::minimal("auth:\n  query:\n    user: lookup\n    password: ${PW}\n"), {{"PW", "pw"}});
  REQUIRE(ok.config);
  REQUIRE(ok.config->auth.query);
  CHECK(ok.config->auth.query->user == "lookup");
  CHECK(ok.config->auth.query->password == "pw");
  CHECK_FALSE(ok.config->auth.query->database);
  CHECK(ok.config->auth.query->sql ==
        "SELECT usename, passwd, valuntil FROM pg_shadow WHERE usename = $1");
  CHECK(ok.config->auth.query->cache_ttl == std::chrono::seconds(60));

  LoadResult full =
      test::parse(test::minimal("auth:\n  query:\n    user: lookup\n    database: postgres\n    "
                                "sql: SELECT * FROM f($1)\n    cache_ttl: 0\n"));
  REQUIRE(full.config);
  CHECK(*full.config->auth.query->database == "postgres");
  CHECK(full.config->auth.query->sql == "SELECT * FROM f($1)");
  CHECK(full.config->auth.query->cache_ttl == Duration::zero());

  test::check_error(test::parse(test::minimal("auth:\n  query:\n    password: x\n")),
                    "auth.query.user", 4, 3, "auth.query needs a user");
  test::check_error(test::parse(test::minimal("auth:\n  query:\n    user: u\n    sql: SELECT 1\n")),
                    "auth.query.sql", 6, 10, "must use $1");
  test::check_error(
      test::parse(test::minimal("auth:\n  query:\n    user: u\n    cache_ttl: soon\n")),
      "auth.query.cache_ttl", 6, 16, "");
  test::check_error(test::parse(test::minimal("auth:\n  query:\n    user: u\n    passwd: x\n")),
                    "auth.query.passwd", 6, 5, "");
}

TEST_CASE("config: listen.unix_socket_dir must be absolute") {
  LoadResult ok = test::parse(test::minimal("listen:\n  unix_socket_dir: /run/ouroboros\n"));
  REQUIRE(ok.config);
  CHECK(ok.config->listen.unix_socket_dir == "/run/ouroboros");
  test::check_error(test::parse(test::minimal("listen:\n  unix_socket_dir: run\n")),
                    "listen.unix_socket_dir", 4, 20, "absolute path");
}
