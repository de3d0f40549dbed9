// ShapeCache: the shape of a text seen before comes from the cache, and is always the shape
// query_shape() gives that exact text.
#include "sql/shape_cache.h"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros::sql;

TEST_CASE("shape cache: a text seen again is a hit with the same shape") {
  ShapeCache cache;
  const std::string text = "SELECT abalance FROM pgbench_accounts WHERE aid = $1;";
  const QueryShape first = cache.shape_of(text);
  CHECK(cache.misses() == 1);
  const QueryShape again = cache.shape_of(text);
  CHECK(cache.hits() == 1);
  CHECK(again.key == first.key);
  CHECK(again.key == query_shape(text).key);
  CHECK(again.statements == first.statements);
  CHECK(again.scanned == first.scanned);
}

TEST_CASE("shape cache: every lookup answers query_shape() of that text, across many texts sharing slots") {
  ShapeCache cache;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3000; ++i) {  // far more texts than slots: collisions and replacements
      const std::string text = "SELECT c" + std::to_string(i) + " FROM t WHERE id = $1; SELECT " + std::to_string(i % 7);
      const QueryShape cached = cache.shape_of(text);
      const QueryShape direct = query_shape(text);
      REQUIRE(cached.key == direct.key);
      REQUIRE(cached.statements == direct.statements);
      REQUIRE(cached.scanned == direct.scanned);
    }
  }
  CHECK(cache.misses() >= 3000);
}

TEST_CASE("shape cache: texts over the size bound are scanned, not kept") {
  ShapeCache cache;
  const std::string big = "SELECT '" + std::string(ShapeCache::kMaxText, 'x') + "'";
  CHECK(cache.shape_of(big).key == query_shape(big).key);
  CHECK(cache.shape_of(big).key == query_shape(big).key);
  CHECK(cache.hits() == 0);
  CHECK(cache.misses() == 0);
}
