#include "statement_cache.hpp"

#include <doctest/doctest.h>

using ouroboros::StatementCache;

TEST_CASE("the statement cache evicts the least recently used statement") {
  StatementCache cache(2, "p_");
  CHECK(cache.enabled());
  const std::string a = cache.insert("A");
  const std::string b = cache.insert("B");
  CHECK(a != b);
  CHECK(a.rfind("p_", 0) == 0);
  REQUIRE(cache.find("A") != nullptr);  // A is now the most recently used
  const std::string c = cache.insert("C");
  CHECK(cache.find("B") == nullptr);
  CHECK(*cache.find("A") == a);
  CHECK(*cache.find("C") == c);
  CHECK(cache.size() == 2);
  CHECK(cache.take_retired() == std::vector<std::string>{b});
  CHECK(cache.take_retired().empty());
}

TEST_CASE("forgotten statements are not deallocated, retired ones are") {
  StatementCache cache(4, "p_");
  const std::string a = cache.insert("A");
  const std::string b = cache.insert("B");
  cache.forget("A");
  cache.retire("B");
  CHECK(cache.size() == 0);
  CHECK(cache.take_retired() == std::vector<std::string>{b});
  const std::string again = cache.insert("A");
  CHECK(again != a);  // a fresh name: the old one may still exist on the server
}

TEST_CASE("a zero-size cache is disabled") {
  StatementCache cache(0, "p_");
  CHECK_FALSE(cache.enabled());
  CHECK(cache.find("A") == nullptr);
}
