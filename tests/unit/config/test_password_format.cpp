#include <doctest/doctest.h>

#include "config/password_format.h"

using namespace ouroboros::config;

namespace {
// A genuine verifier for password "app_password" (salt "ouroboros-salt16", 4096 iterations).
constexpr const char* kVerifier =
    "SCRAM-SHA-256$4096:b3Vyb2Jvcm9zLXNhbHQxNg==$"
    "Vase7cE7nQT+7XtkapS8GfCBO13EQPkuc57W6kOGL/w=:"
    "dbHksVg+k3V3U/Wh0Gs7adBORs1BFDnVwr2RRQ0MeNY=";
}  // namespace

TEST_CASE("plain, md5 and SCRAM passwords are told apart") {
  CHECK(check_password_format("secret").format == PasswordFormat::Plain);
  CHECK_FALSE(check_password_format("secret").problem);
  const auto md5 = check_password_format("md5" + std::string(32, 'a'));
  CHECK(md5.format == PasswordFormat::Md5);
  CHECK_FALSE(md5.problem);
  const auto scram = check_password_format(kVerifier);
  CHECK(scram.format == PasswordFormat::ScramSha256);
  CHECK_FALSE(scram.problem);
}

TEST_CASE("malformed md5 hashes") {
  CHECK(check_password_format("md5").problem);
  CHECK(check_password_format("md5" + std::string(31, 'a')).problem);
  CHECK(check_password_format("md5" + std::string(33, 'a')).problem);
  CHECK(check_password_format("md5" + std::string(32, 'A')).problem);  // lowercase only
  CHECK(check_password_format("md5" + std::string(32, 'g')).problem);
  CHECK(check_password_format("md5secret").problem);
}

TEST_CASE("malformed SCRAM verifiers") {
  const std::string key = "wJ5yFKyK2JvYqgTRb0TN+Tvfn2ARyd6BsZSIyY0iUTU=";
  auto bad = [](const std::string& text) {
    return check_password_format(text).problem.has_value();
  };
  CHECK_FALSE(bad("SCRAM-SHA-256$4096:c2FsdA==$" + key + ":" + key));
  CHECK(bad("SCRAM-SHA-256$"));
  CHECK(bad("SCRAM-SHA-256$4096:c2FsdA==$" + key));             // no ServerKey
  CHECK(bad("SCRAM-SHA-256$4096$" + key + ":" + key));          // no salt
  CHECK(bad("SCRAM-SHA-256$abc:c2FsdA==$" + key + ":" + key));  // iterations not a number
  CHECK(bad("SCRAM-SHA-256$0:c2FsdA==$" + key + ":" + key));    // zero iterations
  CHECK(bad("SCRAM-SHA-256$:c2FsdA==$" + key + ":" + key));
  CHECK(bad("SCRAM-SHA-256$4096:c2Fsd!==$" + key + ":" + key));        // salt not base64
  CHECK(bad("SCRAM-SHA-256$4096:c2FsdA=$" + key + ":" + key));         // bad padding
  CHECK(bad("SCRAM-SHA-256$4096:c2FsdA==$a2V5:" + key));               // StoredKey not 32 bytes
  CHECK(bad("SCRAM-SHA-256$4096:c2FsdA==$" + key + ":" + key + "x"));  // ServerKey not base64
}
