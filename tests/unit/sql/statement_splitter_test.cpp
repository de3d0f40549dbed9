#include "sql/statement_splitter.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace ouroboros::sql;

namespace {

std::vector<std::string> split(std::string_view sql) {
  std::vector<std::string> out;
  StatementSplitter splitter(sql);
  while (auto statement = splitter.next()) out.emplace_back(statement->text);
  return out;
}

}  // namespace

TEST_CASE("count_statements: plain statements and empty ones") {
  CHECK(count_statements("") == 0);
  CHECK(count_statements("   \n") == 0);
  CHECK(count_statements("SELECT 1") == 1);
  CHECK(count_statements("SELECT 1;") == 1);
  CHECK(count_statements("SELECT 1; SELECT 2;") == 2);
  CHECK(count_statements("SELECT 1; SELECT 2") == 2);
  CHECK(count_statements(";;") == 0);
  CHECK(count_statements("; ; SELECT 1 ;; ;") == 1);
  CHECK(count_statements("-- only a comment\n; /* and another */ ;") == 0);
  CHECK(count_statements("SELECT 1; -- trailing note") == 1);
}

TEST_CASE("count_statements: semicolons inside quoting do not split") {
  CHECK(count_statements("SELECT ';'") == 1);
  CHECK(count_statements("SELECT 'it''s; fine'; SELECT 2") == 2);
  CHECK(count_statements(R"(SELECT E'\'; still'; SELECT 2)") == 2);
  CHECK(count_statements("$tag$ ; $tag$") == 1);
  CHECK(count_statements("SELECT $$;$$, $q$;$$;$q$") == 1);
  CHECK(count_statements(R"(SELECT "a;b" FROM t)") == 1);
  CHECK(count_statements("SELECT 1 /* a /* b */ ; */") == 1);
  CHECK(count_statements("SELECT 1 -- ; SELECT 2") == 1);
  CHECK(count_statements("SELECT $1; SELECT $2") == 2);
}

TEST_CASE("count_statements: parentheses and SQL-standard function bodies") {
  // A semicolon inside parentheses is a syntax error, not a split (as in psql).
  CHECK(count_statements("SELECT (1; 2)") == 1);
  const char* function = R"(CREATE OR REPLACE FUNCTION f(a int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;
  SELECT a;
END;
SELECT f(1);)";
  CHECK(count_statements(function) == 2);
  CHECK(count_statements(
            "CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END; CALL p()") == 2);
  // BEGIN elsewhere is a transaction start.
  CHECK(count_statements("BEGIN; SELECT 1; COMMIT;") == 3);
  CHECK(count_statements("CREATE TABLE begin_log (x int); SELECT 1") == 2);
}

TEST_CASE("StatementSplitter: statements tile the input") {
  CHECK(split("SELECT 1; SELECT ';' ;x") ==
        std::vector<std::string>{"SELECT 1;", " SELECT ';' ;", "x"});
  CHECK(split("a;") == std::vector<std::string>{"a;"});
  CHECK(split("").empty());
  StatementSplitter splitter("; SELECT 1; /* c */ ");
  auto first = splitter.next();
  auto second = splitter.next();
  auto third = splitter.next();
  REQUIRE((first && second && third));
  CHECK(first->empty);
  CHECK_FALSE(second->empty);
  CHECK(third->empty);
  CHECK_FALSE(splitter.next());
}
