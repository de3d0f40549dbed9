#include "sql/trace_context.h"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros::sql;

namespace {
constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
}

TEST_CASE("trace_id: sqlcommenter comments") {
  CHECK(trace_id(
            "SELECT 1 /*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/") ==
        kTrace);
  CHECK(
      trace_id("SELECT 1 "
               "/*traceparent='00%2D4bf92f3577b34da6a3ce929d0e0e4736%2D00f067aa0ba902b7%2D01'*/") ==
      kTrace);
  CHECK(trace_id("SELECT * FROM t /*action='index',controller='users',framework='rails%3A7',"
                 "traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',"
                 "tracestate='congo%3Dt61rcWkgMzE'*/") == kTrace);
  CHECK(trace_id("/* traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' */ "
                 "SELECT 1") == kTrace);
  CHECK(trace_id(
            "SELECT 1 -- traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'") ==
        kTrace);
  // The first comment without a valid traceparent does not hide a later one.
  CHECK(trace_id("/* hello */ SELECT 1 /*traceparent='bad'*/ "
                 "/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/") ==
        kTrace);
  // A future version with an extra field.
  CHECK(
      trace_id("/*traceparent='01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'*/") ==
      kTrace);
}

TEST_CASE("trace_context: all fields") {
  const auto context = trace_context(
      "SELECT 1 /*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/");
  REQUIRE(context);
  CHECK(context->trace_id == kTrace);
  CHECK(context->parent_id == "00f067aa0ba902b7");
  CHECK(context->flags == 1);
  CHECK(context->sampled());
}

TEST_CASE("trace_id: malformed or misplaced traceparents are ignored") {
  for (const char* sql : {
           "SELECT 1",
           "SELECT 1 /* no trace here */",
           // Inside a string literal, not a comment.
           "SELECT '/*traceparent=''00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01''*/'",
           "SELECT $$ /*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/ $$",
           // All-zero trace id or parent id.
           "/*traceparent='00-00000000000000000000000000000000-00f067aa0ba902b7-01'*/",
           "/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'*/",
           // Uppercase hex, wrong lengths, bad separators, version ff, junk after version 00.
           "/*traceparent='00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'*/",
           "/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'*/",
           "/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01'*/",
           "/*traceparent='00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01'*/",
           "/*traceparent='ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/",
           "/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x'*/",
           "/*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g'*/",
           "/*traceparent='00%2-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/",
           "/*traceparent='%'*/",
           "/*traceparent=*/",
           "/*traceparent*/",
           // Another key that merely ends in traceparent.
           "/*xtraceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'*/",
           // Unterminated comment: still a comment, but the value is cut short.
           "SELECT 1 /*traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067",
       }) {
    CAPTURE(sql);
    CHECK_FALSE(trace_id(sql));
  }
}

TEST_CASE("parse_traceparent: flags") {
  const auto unsampled =
      parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  REQUIRE(unsampled);
  CHECK_FALSE(unsampled->sampled());
  const auto other = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  REQUIRE(other);
  CHECK(other->flags == 0xff);
}
