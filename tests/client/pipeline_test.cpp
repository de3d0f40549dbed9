// Pipelines: 1,000 statements with an error in the middle (each stands alone, or atomic),
// inside a transaction, failed preparation, rows, trace comments and hooks.
#include <doctest/doctest.h>

#include "observer_recorder.hpp"
#include "test_database.hpp"

using namespace ouroboros;
using client_test::Recorder;

TEST_SUITE("transaction_mode") {
  TEST_CASE("a pipeline of 1,000 statements with an error in the middle") {
    auto recorder = std::make_shared<Recorder>();
    ConnectOptions options;
    options.observers.push_back(recorder);
    Connection conn = client_test::connect(options);
    client_test::Table table(conn, "pipeline_1000", "id int PRIMARY KEY");
    recorder->clear();
    Pipeline pipeline(conn);
    const std::string insert = "INSERT INTO " + table + " VALUES ($1)";
    for (int i = 0; i < 1000; ++i) pipeline.add(insert, i == 500 ? 0 : i);  // #500 repeats id 0
    CHECK(pipeline.size() == 1000);
    const std::vector<PipelineResult> results = pipeline.run();
    REQUIRE(results.size() == 1000);
    for (int i = 0; i < 1000; ++i) {
      CAPTURE(i);
      if (i == 500) {
        CHECK_FALSE(results[i].ok());
        CHECK(results[i].sqlstate() == "23505");
        CHECK_THROWS_AS(results[i].get(), ConflictError);
      } else {
        REQUIRE(results[i].ok());
        CHECK(results[i].get().affected_rows() == 1);
      }
    }
    CHECK(pipeline.size() == 0);
    CHECK(conn.query_value<long>("SELECT count(*) FROM " + table) == 999);

    const auto starts = recorder->starts(), ends = recorder->ends();
    REQUIRE(ends.size() == 1001);  // 1000 pipelined + the count
    CHECK(starts.size() == 1001);
    for (int i = 0; i < 1000; ++i) {
      CAPTURE(i);
      CHECK(ends[i].kind == StatementKind::Pipelined);
      CHECK(ends[i].sql == insert);
      CHECK(ends[i].id == starts[i].id);
      CHECK(ends[i].failed == (i == 500));
      CHECK(ends[i].rows == (i == 500 ? -1 : 1));
    }
    CHECK(ends[0].cache == CacheOutcome::Prepared);
    CHECK(ends[1].cache == CacheOutcome::Hit);
    CHECK(ends[500].sqlstate == "23505");
    CHECK(ends[500].error_class == "ConflictError");
  }

  TEST_CASE("an atomic pipeline is all or nothing") {
    Connection conn = client_test::connect();
    client_test::Table table(conn, "pipeline_atomic", "id int PRIMARY KEY");
    Pipeline pipeline(conn, {.atomic = true});
    for (int i = 0; i < 10; ++i)
      pipeline.add("INSERT INTO " + table + " VALUES ($1)", i == 5 ? 0 : i);
    const auto results = pipeline.run();
    REQUIRE(results.size() == 10);
    for (int i = 0; i < 5; ++i) CHECK(results[i].ok());  // ran, then rolled back with the rest
    CHECK_THROWS_AS(results[5].get(), ConflictError);
    for (int i = 6; i < 10; ++i) CHECK_THROWS_AS(results[i].get(), PipelineAborted);
    CHECK(conn.query_value<long>("SELECT count(*) FROM " + table) == 0);
    CHECK_FALSE(conn.in_transaction());
  }

  TEST_CASE("pipelined queries give their rows; failed preparation fails only its statement") {
    Connection conn = client_test::connect();
    Pipeline pipeline(conn);
    pipeline.add("SELECT g FROM generate_series(1, $1::int) g", 3);
    pipeline.add("SELEC oops");
    pipeline.add("SELECT $1::text || '!'", "hi");
    pipeline.add("SELECT 1/0");
    pipeline.add("SELECT 7");
    const auto results = pipeline.run();
    REQUIRE(results.size() == 5);
    CHECK(results[0].get().rows().all<int>() == std::vector<int>{1, 2, 3});
    CHECK_THROWS_AS(results[1].get(), SyntaxError);
    CHECK(results[2].get().rows().one().get<std::string>(0) == "hi!");
    CHECK(results[3].sqlstate() == "22012");
    CHECK(results[4].get().rows().one().get<int>(0) == 7);
    // The same statements again: the failed one was not cached, the others are.
    pipeline.add("SELEC oops");
    pipeline.add("SELECT 7");
    const auto again = pipeline.run();
    CHECK_THROWS_AS(again[0].get(), SyntaxError);
    CHECK(again[1].get().rows().one().get<int>(0) == 7);
    CHECK(Pipeline(conn).run().empty());
    CHECK(conn.query_value<int>("SELECT 8") == 8);
  }

  TEST_CASE(
      "a pipeline inside a transaction: statements after an error see an aborted transaction") {
    Connection conn = client_test::connect();
    client_test::Table table(conn, "pipeline_tx", "id int PRIMARY KEY");
    Transaction tx = conn.begin();
    Pipeline pipeline(conn);
    pipeline.add("INSERT INTO " + table + " VALUES ($1)", 1);
    pipeline.add("INSERT INTO " + table + " VALUES ($1)", 1);
    pipeline.add("INSERT INTO " + table + " VALUES ($1)", 2);
    const auto results = pipeline.run();
    CHECK(results[0].ok());
    CHECK_THROWS_AS(results[1].get(), ConflictError);
    CHECK_THROWS_AS(results[2].get(), TransactionStateError);  // 25P02
    CHECK(results[2].sqlstate() == "25P02");
    tx.rollback();
    CHECK(conn.query_value<long>("SELECT count(*) FROM " + table) == 0);
  }

  TEST_CASE("pipelined statements carry the trace comment") {
    Connection conn = client_test::connect();
    const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    conn.set_traceparent(traceparent);
    Pipeline pipeline(conn);
    pipeline.add("SELECT current_query()");
    const auto results = pipeline.run();
    CHECK(results[0].get().rows().one().get<std::string>(0) ==
          "SELECT current_query() /*traceparent='" + traceparent + "'*/");
  }

}  // TEST_SUITE("transaction_mode")
