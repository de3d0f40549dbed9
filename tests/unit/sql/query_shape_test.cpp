#include "sql/query_shape.h"

#include <doctest/doctest.h>

#include <string>

#include "sql/fingerprint.h"
#include "sql/statement_splitter.h"

using namespace ouroboros::sql;

namespace {

// Scanned texts get the key the lexer-based definition gives them.
QueryShape scanned(const std::string& sql) {
  QueryShape shape = query_shape(sql);
  CHECK_MESSAGE(shape.scanned, sql);
  CHECK_MESSAGE(shape.key == query_shape_by_lexer(sql), sql);
  return shape;
}

}  // namespace

TEST_CASE("texts that differ only in literals share a key, and their fingerprint") {
  const std::string a = "SELECT abalance FROM pgbench_accounts WHERE aid = 64936;";
  const std::string b = "select abalance from pgbench_accounts where aid = 7;";
  CHECK(scanned(a).key == scanned(b).key);
  CHECK(fingerprint(a) == fingerprint(b));
  CHECK(scanned("UPDATE t SET name = 'x''y', n = $1 WHERE id IN (1, 2)").key ==
        scanned("UPDATE t SET name = 'other', n = $2 WHERE id IN (3, 4)").key);
}

TEST_CASE("a different shape gets a different key") {
  CHECK(scanned("SELECT a FROM t WHERE id = 1").key != scanned("SELECT b FROM t WHERE id = 1").key);
  CHECK(scanned("SELECT a FROM t WHERE id = 1").key != scanned("SELECT a FROM t WHERE id = '1'").key);
  CHECK(scanned("SELECT \"A\" FROM t").key != scanned("SELECT \"a\" FROM t").key);
  CHECK(scanned("SELECT a, b").key != scanned("SELECT a . b").key);
  CHECK(scanned("SELECT 1; SELECT 2").key != scanned("SELECT 1 SELECT 2").key);
}

TEST_CASE("what the quick pass leaves to the lexer falls back to a key of the whole text") {
  for (const char* sql : {"SELECT 1 -- note", "SELECT /* c */ 1", "SELECT $$x$$", "SELECT E'\\n'",
                          "SELECT 1.5", "SELECT 1e3", "SELECT 0x1F", "SELECT a <> b",
                          "SELECT 'unterminated", "SELECT \"unterminated", "SELECT caf\xc3\xa9",
                          "SELECT a$b", "SELECT {"}) {
    CAPTURE(sql);
    QueryShape shape = query_shape(sql);
    CHECK_FALSE(shape.scanned);
    CHECK(shape.statements == -1);
  }
  // Exact, if not shared: equal texts only.
  CHECK(query_shape("SELECT 1.5").key == query_shape("SELECT 1.5").key);
  CHECK(query_shape("SELECT 1.5").key != query_shape("SELECT 2.5").key);
  CHECK(scanned("SELECT a :: int").key == query_shape_by_lexer("SELECT a :: int"));
}

TEST_CASE("the statement count is known for one statement and left to the splitter for more") {
  CHECK(scanned("SELECT 1").statements == 1);
  CHECK(scanned("SELECT 1;").statements == 1);
  CHECK(scanned("SELECT 1;;").statements == 1);
  CHECK(scanned("  ").statements == 0);
  CHECK(scanned(";").statements == 0);
  CHECK(scanned("SELECT 1; SELECT 2").statements == -1);
  for (const char* sql : {"SELECT 1", "SELECT 1;;", "SELECT 1; SELECT 2", "SELECT 1 -- x\n; SELECT 2", ""}) {
    CAPTURE(sql);
    CHECK(count_statements_quickly(sql, query_shape(sql)) == count_statements(sql));
  }
}

TEST_CASE("words of every length end where the lexer ends them (the quick pass and the lexer agree)") {
  // Every byte that can follow a word, after words of 1 to 40 characters of every class (past two
  // of the quick pass's 16-byte steps), at every offset: the quick pass agrees with the lexer, or
  // leaves the text to it.
  const std::string classes[] = {"a", "Z", "q", "_", "0", "9", "M"};
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t offset = 0; offset < 8; ++offset) {
      for (int next = 1; next < 256; ++next) {
        std::string word;
        for (std::size_t k = 0; k < length; ++k) word += classes[(k + offset) % 7];
        word[0] = 'w';  // a word starts with a letter
        const std::string sql = std::string(offset, ' ') + word + static_cast<char>(next) + " x";
        const QueryShape shape = query_shape(sql);
        if (shape.scanned) {
          CAPTURE(length);
          CAPTURE(offset);
          CAPTURE(next);
          REQUIRE(shape.key == query_shape_by_lexer(sql));
        }
      }
    }
  }
  // A word's key does not depend on where it ends in memory.
  CHECK(scanned("SELECT abalance FROM pgbench_accounts WHERE aid = 1").key ==
        scanned("select ABALANCE from PGBENCH_ACCOUNTS where AID = 2").key);
}
