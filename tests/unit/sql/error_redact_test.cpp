#include "sql/error_redact.h"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros::sql;

TEST_CASE("redact_error_text: values PostgreSQL quotes are hidden") {
  CHECK(redact_error_text("invalid input syntax for type integer: \"S3cretLeak3\"") ==
        "invalid input syntax for type integer: \"?\"");
  CHECK(redact_error_text("value \"99999999999\" is out of range for type integer") ==
        "value \"?\" is out of range for type integer");
  CHECK(redact_error_text("syntax error at or near \"secret\"") == "syntax error at or near \"?\"");
  CHECK(redact_error_text("Token \"hunter2\" is invalid.") == "Token \"?\" is invalid.");
  CHECK(redact_error_text("invalid value for parameter \"TimeZone\": \"secret\"") ==
        "invalid value for parameter \"TimeZone\": \"?\"");
}

TEST_CASE("redact_error_text: rows and keys in DETAIL are hidden") {
  CHECK(redact_error_text("Key (email)=(alice@example.com) already exists.") ==
        "Key (email)=(?) already exists.");
  CHECK(redact_error_text("Key (a, lower(b))=(1, x) is not present in table \"parent\".") ==
        "Key (a, lower(b))=(?) is not present in table \"parent\".");
  CHECK(redact_error_text("Failing row contains (1, -5, S3cret).") == "Failing row contains (?).");
  CHECK(redact_error_text("Key (x)=(1) conflicts with existing key (x)=(2).") == "Key (x)=(?).");
}

TEST_CASE("redact_error_text: a value holding quotes or parentheses never shows its tail") {
  // PostgreSQL does not escape quotes inside the value: everything up to the last one goes.
  CHECK(redact_error_text("invalid input syntax for type integer: \"a\" b \"c\"") ==
        "invalid input syntax for type integer: \"?\"");
  CHECK(redact_error_text("Key (k)=(a) already exists. (b) already exists.") ==
        "Key (k)=(?) already exists.");
  CHECK(redact_error_text("Key (k)=(unterminated") == "Key (k)=(?)");
  CHECK(redact_error_text("invalid input syntax for type json: \"unterminated") ==
        "invalid input syntax for type json: \"?\"");
}

TEST_CASE("redact_error_text: names of objects stay") {
  for (const char* text :
       {"relation \"obs_missing_table\" does not exist",
        "duplicate key value violates unique constraint \"users_email_key\"",
        "new row for relation \"t\" violates check constraint \"t_v_check\"",
        "null value in column \"v\" of relation \"t\" violates not-null constraint",
        "column \"secret\" does not exist", "type \"widget\" does not exist", "division by zero",
        ""})
    CHECK(redact_error_text(text) == text);
  CHECK(redact_error_text("Column \"x\" and value \"y\"") == "Column \"x\" and value \"?\"");
}
