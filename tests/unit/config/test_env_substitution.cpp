#include <doctest/doctest.h>

#include "config/env_substitution.h"
#include "test_support.h"

using namespace ouroboros::config;
using ouroboros::config::test::fake_env;

TEST_CASE("substitute_environment replaces references") {
  const EnvLookup env = fake_env({{"HOST", "db1"}, {"PORT", "5433"}, {"EMPTY", ""}});
  CHECK(substitute_environment("${HOST}", env).value == "db1");
  CHECK(substitute_environment("x-${HOST}-${PORT}-y", env).value == "x-db1-5433-y");
  CHECK(substitute_environment("${PORT:-5432}", env).value == "5433");
  CHECK(substitute_environment("${MISSING:-5432}", env).value == "5432");
  CHECK(substitute_environment("${EMPTY:-fallback}", env).value == "fallback");
  CHECK(substitute_environment("${EMPTY}", env).value == "");
  CHECK(substitute_environment("${MISSING:-}", env).value == "");
  CHECK(substitute_environment("${MISSING:-a:-b}", env).value == "a:-b");
}

TEST_CASE("substitute_environment reports whether the environment was used") {
  const EnvLookup env = fake_env({{"A", "1"}});
  CHECK(substitute_environment("${A}", env).used_environment);
  CHECK(substitute_environment("${B:-x}", env).used_environment);
  CHECK_FALSE(substitute_environment("plain", env).used_environment);
  CHECK_FALSE(substitute_environment("$$", env).used_environment);
}

TEST_CASE("dollar signs: $$ is a literal $, a lone $ stays") {
  const EnvLookup env = fake_env({{"A", "1"}});
  CHECK(substitute_environment("$$", env).value == "$");
  CHECK(substitute_environment("$${A}", env).value == "${A}");
  CHECK(substitute_environment("$$$${A}", env).value == "$${A}");
  CHECK(substitute_environment("a$b", env).value == "a$b");
  CHECK(substitute_environment("end$", env).value == "end$");
  const char* verifier = "SCRAM-SHA-256$4096:c2FsdA==$a2V5:a2V5";
  CHECK(substitute_environment(verifier, env).value == verifier);
}

TEST_CASE("substitute_environment errors") {
  const EnvLookup env = fake_env();
  auto unset = substitute_environment("${NOPE}", env);
  REQUIRE(unset.error);
  CHECK(unset.error->find("'NOPE' is not set") != std::string::npos);
  auto unterminated = substitute_environment("${NOPE", env);
  REQUIRE(unterminated.error);
  CHECK(unterminated.error->find("unterminated") != std::string::npos);
  CHECK(substitute_environment("${}", env).error);
  CHECK(substitute_environment("${1A}", env).error);
  CHECK(substitute_environment("${A-B}", env).error);
  CHECK(substitute_environment("${A:B}", env).error);
}

TEST_CASE("a null EnvLookup behaves like an empty environment") {
  CHECK(substitute_environment("${A:-x}", EnvLookup{}).value == "x");
  CHECK(substitute_environment("${A}", EnvLookup{}).error);
}
