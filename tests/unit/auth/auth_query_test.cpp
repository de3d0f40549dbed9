// auth_query without I/O: the wrapped SQL, what an answer means, expiry at login time, the cache.
#include "auth/auth_query.h"

#include <doctest/doctest.h>

#include <cmath>

using namespace ouroboros;
using namespace ouroboros::auth;

namespace {
Row row(std::optional<std::string> name, std::optional<std::string> secret,
        std::optional<std::string> until) {
  return {std::move(name), std::move(secret), std::move(until)};
}
}  // namespace

TEST_CASE(
    "auth_query: the SQL is wrapped to return the expiry in epoch seconds; trailing ; dropped") {
  CHECK(wrapped_auth_query(
            "SELECT usename, passwd, valuntil FROM pg_shadow WHERE usename = $1 ;\n") ==
        "SELECT q.u::text, q.p::text, extract(epoch FROM q.v)::float8::text FROM (SELECT usename, "
        "passwd, "
        "valuntil FROM pg_shadow WHERE usename = $1) AS q(u, p, v)");
}

TEST_CASE("auth_query: answers") {
  std::string error;
  SUBCASE("no row: no such user") {
    auto user = interpret_lookup({}, 3, error);
    REQUIRE(user);
    CHECK(user->status == LookupStatus::NoSuchUser);
  }
  SUBCASE("NULL or empty password") {
    for (auto secret : {std::optional<std::string>{}, std::optional<std::string>{""}}) {
      auto user = interpret_lookup({row("u", secret, std::nullopt)}, 3, error);
      REQUIRE(user);
      CHECK(user->status == LookupStatus::NullPassword);
    }
  }
  SUBCASE("a secret without VALID UNTIL") {
    auto user = interpret_lookup({row("u", "SCRAM-SHA-256$4096:x$y:z", std::nullopt)}, 3, error);
    REQUIRE(user);
    CHECK(user->status == LookupStatus::Found);
    CHECK(user->secret == "SCRAM-SHA-256$4096:x$y:z");
    CHECK(user->status_at(4e9) == LookupStatus::Found);
  }
  SUBCASE("VALID UNTIL is checked at each login, not at the lookup") {
    auto user = interpret_lookup({row("u", "md5abc", "1000.5")}, 3, error);
    REQUIRE(user);
    CHECK(user->status == LookupStatus::Found);
    CHECK(user->status_at(999) == LookupStatus::Found);
    CHECK(user->status_at(1000.5) == LookupStatus::Expired);
    CHECK(user->status_at(2000) == LookupStatus::Expired);
  }
  SUBCASE("infinity and -infinity") {
    auto forever = interpret_lookup({row("u", "pw", "Infinity")}, 3, error);
    REQUIRE(forever);
    CHECK(forever->status_at(1e12) == LookupStatus::Found);
    auto never = interpret_lookup({row("u", "pw", "-Infinity")}, 3, error);
    REQUIRE(never);
    CHECK(never->status_at(0) == LookupStatus::Expired);
  }
  SUBCASE("refusals stay refusals whatever the time") {
    LookedUpUser missing;
    CHECK(missing.status_at(0) == LookupStatus::NoSuchUser);
  }
  SUBCASE("a query with other than three columns is a configuration problem") {
    CHECK_FALSE(interpret_lookup({}, 2, error));
    CHECK(error ==
          "auth.query.sql must return three columns (user name, password, valid until), got 2");
    CHECK_FALSE(interpret_lookup({Row{std::string("u")}}, 3, error));
    CHECK(error.find("without three columns") != std::string::npos);
  }
}

TEST_CASE("auth_query: the log tells the refusals apart") {
  CHECK(describe(LookupStatus::NoSuchUser) == "auth_query: no such user");
  CHECK(describe(LookupStatus::NullPassword) == "auth_query: the user has no password (NULL)");
  CHECK(describe(LookupStatus::Expired) == "auth_query: the password has expired (VALID UNTIL)");
}

TEST_CASE("auth_query cache: entries live for the ttl, refusals included") {
  LookupCache cache(std::chrono::seconds(10));
  TimePoint t0{};
  LookedUpUser found;
  found.status = LookupStatus::Found;
  found.secret = "md5x";
  cache.store("a", found, t0);
  cache.store("b", LookedUpUser{}, t0);
  CHECK(cache.find("a", t0 + std::chrono::seconds(9))->secret == "md5x");
  CHECK(cache.find("b", t0 + std::chrono::seconds(9))->status == LookupStatus::NoSuchUser);
  CHECK_FALSE(cache.find("a", t0 + std::chrono::seconds(10)));
  CHECK_FALSE(cache.find("c", t0));
  cache.set_ttl(Duration::zero());
  cache.store("d", found, t0);
  CHECK_FALSE(cache.find("d", t0));
}

TEST_CASE("auth_query cache: bounded") {
  LookupCache cache(std::chrono::seconds(10), 3);
  TimePoint t0{};
  for (int i = 0; i < 3; ++i) cache.store(std::to_string(i), LookedUpUser{}, t0);
  CHECK(cache.size() == 3);
  // Full of live entries: it starts afresh rather than grow.
  cache.store("x", LookedUpUser{}, t0 + std::chrono::seconds(1));
  CHECK(cache.size() == 1);
  // Expired entries go first.
  cache.store("y", LookedUpUser{}, t0 + std::chrono::seconds(2));
  cache.store("z", LookedUpUser{}, t0 + std::chrono::seconds(2));
  cache.store("w", LookedUpUser{}, t0 + std::chrono::milliseconds(11500));
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find("x", t0 + std::chrono::seconds(11)));
  CHECK(cache.find("y", t0 + std::chrono::seconds(11)));
}

namespace {
std::string value_of(const Conninfo& conninfo, const std::string& key) {
  for (const auto& [k, v] : conninfo)
    if (k == key) return v;
  return "<unset>";
}
}  // namespace

TEST_CASE("auth_query: the lookup connection follows the database's TLS settings") {
  config::AuthQueryConfig query;
  query.user = "lookup";
  query.password = "pw";
  config::DatabaseConfig db;
  db.host = "db.internal";
  db.port = 6432;

  // The default (disable) is said explicitly: libpq's own default would be prefer, and
  // PGSSLMODE from the environment would otherwise decide.
  Conninfo plain = lookup_conninfo(query, db, "app", "/etc/ssl/cert.pem");
  CHECK(value_of(plain, "host") == "db.internal");
  CHECK(value_of(plain, "hostaddr") == "<unset>");
  CHECK(value_of(plain, "port") == "6432");
  CHECK(value_of(plain, "dbname") == "app");
  CHECK(value_of(plain, "user") == "lookup");
  CHECK(value_of(plain, "password") == "pw");
  CHECK(value_of(plain, "sslmode") == "disable");
  CHECK(value_of(plain, "sslrootcert") == "<unset>");

  using Mode = config::ServerTlsMode;
  const std::pair<Mode, const char*> modes[] = {{Mode::Allow, "allow"},     {Mode::Prefer, "prefer"},
                                                {Mode::Require, "require"}, {Mode::VerifyCa, "verify-ca"},
                                                {Mode::VerifyFull, "verify-full"}};
  for (const auto& [mode, name] : modes) {
    db.tls.mode = mode;
    CHECK(value_of(lookup_conninfo(query, db, "app", "/sys.pem"), "sslmode") == name);
  }

  // verify-*: the configured CA, or the system's bundle when none is configured.
  db.tls.mode = Mode::VerifyFull;
  CHECK(value_of(lookup_conninfo(query, db, "app", "/sys.pem"), "sslrootcert") == "/sys.pem");
  db.tls.ca_file = "/etc/ouroboros/ca.crt";
  CHECK(value_of(lookup_conninfo(query, db, "app", "/sys.pem"), "sslrootcert") == "/etc/ouroboros/ca.crt");
  db.tls.mode = Mode::Require;  // require does not verify, as on the server leg
  CHECK(value_of(lookup_conninfo(query, db, "app", "/sys.pem"), "sslrootcert") == "<unset>");

  // A client certificate, and server_name: the name to check, the database's host to connect to.
  db.tls.mode = Mode::VerifyFull;
  db.tls.cert_file = "/c.crt";
  db.tls.key_file = "/c.key";
  db.tls.server_name = "pg.example.com";
  Conninfo tls = lookup_conninfo(query, db, "app", "/sys.pem");
  CHECK(value_of(tls, "sslcert") == "/c.crt");
  CHECK(value_of(tls, "sslkey") == "/c.key");
  CHECK(value_of(tls, "host") == "pg.example.com");
  CHECK(value_of(tls, "hostaddr") == "db.internal");

  // A socket directory is the host whatever server_name says (libpq uses no TLS there).
  db.host = "/var/run/postgresql";
  Conninfo socket = lookup_conninfo(query, db, "app", "/sys.pem");
  CHECK(value_of(socket, "host") == "/var/run/postgresql");
  CHECK(value_of(socket, "hostaddr") == "<unset>");
  query.password.clear();
  CHECK(value_of(lookup_conninfo(query, db, "app", "/sys.pem"), "password") == "<unset>");
}
