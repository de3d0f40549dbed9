#include "sql/fingerprint.h"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros::sql;

TEST_CASE("fingerprint: literals, case and spacing are normalized") {
  CHECK(fingerprint("SELECT * FROM T WHERE id IN (1, 2, 3) AND name = 'x'") ==
        "select * from t where id in (?) and name = ?");
  CHECK(fingerprint("select count(*) from t where a=$1 and b=-2.5e3 and c is null") ==
        "select count(*) from t where a = ? and b = ? and c is null");
  CHECK(fingerprint("UPDATE t SET flag = TRUE WHERE x = false;") ==
        "update t set flag = ? where x = ?");
  CHECK(fingerprint("SELECT a.b, \"Mixed\".c FROM s.t") == "select a.b, \"Mixed\".c from s.t");
  CHECK(fingerprint("SELECT '1'::int, ARRAY[1, 2, 3], f(x)") == "select ?::int, array[?], f(x)");
  CHECK(fingerprint("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')") ==
        "insert into t(a, b) values (?)");
  CHECK(fingerprint("SELECT 1; SELECT 2;") == "select ?; select ?");
  CHECK(fingerprint(" ; ;") == "");
}

TEST_CASE("fingerprint: equal for queries differing only in literals, spacing or comments") {
  const std::string base = fingerprint("SELECT name FROM users WHERE id = 42 AND kind IN (1, 2)");
  for (const char* variant : {
           "SELECT name FROM users WHERE id = 7 AND kind IN (3)",
           "select   name\nfrom users -- who\nwhere id=$1 and kind in ($2,$3,$4,$5)",
           "/* app */ SELECT name FROM users WHERE id = -1 AND kind IN (1,2,3,4,5,6,7,8);",
           "SELECT name FROM users WHERE id = 1e3 AND kind IN ('a', E'b\\'', $$c$$, $t$d$t$)",
           "SELECT name /* x /* nested */ y */ FROM users WHERE id = 0x2A AND kind IN (+1, -2)",
       }) {
    CAPTURE(variant);
    CHECK(fingerprint(variant) == base);
  }
  CHECK(fingerprint("INSERT INTO t VALUES (1, 2), (3, 4), (5, 6)") ==
        fingerprint("insert into t values (7, 8)"));
  CHECK(fingerprint("SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))") ==
        fingerprint("SELECT * FROM t WHERE (a, b) IN ((5, 6))"));
  CHECK(fingerprint("SELECT 'it''s'") == fingerprint("SELECT 'plain'"));
}

TEST_CASE("fingerprint: different structure gives different fingerprints") {
  const std::string base = fingerprint("SELECT name FROM users WHERE id = 1");
  for (const char* other : {
           "SELECT name FROM accounts WHERE id = 1",
           "SELECT email FROM users WHERE id = 1",
           "SELECT name FROM users WHERE uid = 1",
           "SELECT name FROM users WHERE id > 1",
           "SELECT name FROM users WHERE id = 1 LIMIT 1",
           "SELECT \"Name\" FROM users WHERE id = 1",
           "SELECT name FROM users WHERE id = a1",
           "SELECT name FROM users WHERE id = 1; SELECT 2",
       }) {
    CAPTURE(other);
    CHECK(fingerprint(other) != base);
  }
  CHECK(fingerprint("SELECT a - 1 FROM t") != fingerprint("SELECT a FROM t"));
  CHECK(fingerprint("SELECT f(1, 2)") != fingerprint("SELECT f(x, 2)"));
  CHECK(fingerprint("SELECT NULL") != fingerprint("SELECT 1"));
}

TEST_CASE("fingerprint: binary minus stays an operator") {
  CHECK(fingerprint("SELECT a-1, b - 2, $1 - 3, (c)-4") == "select a - ?, b - ?, ? - ?, (c) - ?");
  CHECK(fingerprint("SELECT x FROM t WHERE y = -5") == "select x from t where y = ?");
  CHECK(fingerprint("SELECT -1, CASE WHEN a THEN -2 ELSE +3 END") ==
        fingerprint("SELECT 1, CASE WHEN a THEN 2 ELSE 3 END"));
}
