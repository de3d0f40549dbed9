#include "sql/redact.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

using namespace ouroboros::sql;

TEST_CASE("redact: literals become ? and the rest is untouched") {
  CHECK(redact("SELECT * FROM t WHERE a = 'x' AND b = 42 AND c = $1") ==
        "SELECT * FROM t WHERE a = ? AND b = ? AND c = $1");
  CHECK(redact("SELECT 'it''s', E'\\'', $$a;b$$, $t$x$t$, U&'d', B'01', X'ff', N'n'") ==
        "SELECT ?, ?, ?, ?, ?, ?, ?, ?");
  CHECK(redact("UPDATE t SET on_ = TRUE, off_ = false, gone = NULL") ==
        "UPDATE t SET on_ = ?, off_ = ?, gone = NULL");
  CHECK(redact("SELECT \"quoted id\", t1.col2 /* note 'kept' */ -- 'also kept'\nFROM t1") ==
        "SELECT \"quoted id\", t1.col2 /* note 'kept' */ -- 'also kept'\nFROM t1");
  CHECK(redact("SELECT -1.5e3, x-2") == "SELECT -?, x-?");
  CHECK(redact("SELECT 'never closed; DROP TABLE t") == "SELECT ?");
  CHECK(redact("") == "");
}

namespace {

// Literal syntaxes wrapping a secret payload made of letters (so it cannot occur in the fixed
// template text) or digits (the templates contain none).
std::string make_literal(std::mt19937& rng, const std::string& word, const std::string& digits) {
  switch (rng() % 12) {
    case 0:
      return "'" + word + "'";
    case 1:
      return "'" + word.substr(0, 4) + "''" + word.substr(4) + "'";
    case 2:
      return "E'" + word.substr(0, 4) + "\\'" + word.substr(4) + "'";
    case 3:
      return "e'" + word + "\\\\'";
    case 4:
      return "$$" + word + "$$";
    case 5:
      return "$tag$ ; " + word + " $tag$";
    case 6:
      return "U&'" + word + "'";
    case 7:
      return "X'" + digits + "'";
    case 8:
      return digits;
    case 9:
      return digits.substr(0, 4) + "." + digits.substr(4);
    case 10:
      return digits.substr(0, 3) + "e" + digits.substr(3, 2);
    default:
      return "N'" + word + "'";
  }
}

}  // namespace

TEST_CASE("redact: property: no literal payload ever survives") {
  const std::vector<std::string> templates = {
      "SELECT @ FROM accounts WHERE owner = @",
      "INSERT INTO events (kind, payload) VALUES (@, @), (@, @);",
      "UPDATE users SET note = @ WHERE name IN (@, @) AND flag = @ -- done",
      "SELECT f(@)::text, ARRAY[@, @] /* c */; SELECT @",
      "DELETE FROM \"Quoted;Table\" WHERE x = -@ AND y<>@",
  };
  std::mt19937 rng(20240611);
  for (int iteration = 0; iteration < 500; ++iteration) {
    const std::string& shape = templates[rng() % templates.size()];
    std::string sql;
    std::vector<std::string> secrets;
    for (char c : shape) {
      if (c != '@') {
        sql.push_back(c);
        continue;
      }
      std::string word = "zq";
      for (int i = 0; i < 10; ++i) word.push_back(static_cast<char>('a' + rng() % 26));
      std::string digits;
      for (int i = 0; i < 9; ++i) digits.push_back(static_cast<char>('1' + rng() % 9));
      const std::string literal = make_literal(rng, word, digits);
      sql += literal;
      // Check the payload in the literal that was actually used (word or digits).
      secrets.push_back(literal.find(word.substr(4)) != std::string::npos ? word.substr(4)
                                                                          : digits.substr(3, 2));
    }
    const std::string redacted = redact(sql);
    CAPTURE(sql);
    CAPTURE(redacted);
    for (const std::string& secret : secrets) CHECK(redacted.find(secret) == std::string::npos);
    CHECK(redacted.find_first_of("0123456789") == std::string::npos);
    // Both modes hide every literal when literals must not be logged.
    CHECK(safe_for_log(sql, false) == redacted);
  }
}

TEST_CASE("safe_for_log: keeps the text when literals may be logged") {
  const std::string sql = "SELECT 'visible', 42 FROM t; UPDATE t SET x = 'y'";
  CHECK(safe_for_log(sql, true) == sql);
  CHECK(safe_for_log(sql, false) == "SELECT ?, ? FROM t; UPDATE t SET x = ?");
}

TEST_CASE("safe_for_log: statements that may carry passwords are always redacted") {
  const std::string secret = "Hunter2Secret";
  const std::vector<std::string> statements = {
      "ALTER ROLE alice PASSWORD '" + secret + "'",
      "alter user alice with password '" + secret + "' valid until 'infinity'",
      "CREATE USER bob WITH ENCRYPTED PASSWORD '" + secret + "'",
      "CREATE ROLE carol LOGIN PASSWORD $pw$" + secret + "$pw$",
      "ALTER USER dave PASSWORD E'" + secret + "\\''",
      "CREATE USER MAPPING FOR bob SERVER remote OPTIONS (user 'bob', password '" + secret + "')",
      "ALTER USER MAPPING FOR bob SERVER remote OPTIONS (SET \"password\" '" + secret + "')",
      "SELECT dblink_connect('conn', 'host=db user=u password=" + secret + " dbname=d')",
      "SELECT * FROM dblink('postgresql://u:" + secret + "@db/app', 'SELECT 1') AS t(a int)",
      "DO $$BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''" + secret + "'''; END$$",
  };
  for (const std::string& statement : statements) {
    CAPTURE(statement);
    CHECK(may_contain_password(statement));
    const std::string logged = safe_for_log(statement, true);
    CHECK(logged.find(secret) == std::string::npos);
    CHECK(logged.find('?') != std::string::npos);
  }
  // Only the sensitive statement of a batch is redacted.
  const std::string batch =
      "SELECT 'before'; ALTER ROLE a PASSWORD '" + secret + "'; SELECT 'after' /* ; */";
  CHECK(safe_for_log(batch, true) ==
        "SELECT 'before'; ALTER ROLE a PASSWORD ?; SELECT 'after' /* ; */");
  // The word in a string or comment elsewhere does not trigger it, nor does a string with no
  // credentials.
  CHECK_FALSE(may_contain_password("SELECT 1 /* password */"));
  CHECK_FALSE(may_contain_password("SELECT * FROM dblink('postgresql://db/app', 'SELECT 1')"));
  CHECK_FALSE(may_contain_password("SELECT passwords_changed FROM audit"));
  CHECK_FALSE(may_contain_password("SELECT \"password_hash\" FROM accounts"));
}
