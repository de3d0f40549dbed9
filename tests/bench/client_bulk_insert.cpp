// Client library benchmark: inserting N rows one statement at a time, pipelined, and with COPY.
// Prints one line per method: seconds and rows per second. Each method runs in one transaction
// (so the comparison is about round trips, not commits) on a fresh table.
//
//   client_bulk_insert DSN [ROWS] [PIPELINE_BATCH]
#include <ouroboros/client.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

double timed(ouroboros::Connection& conn, const std::string& table,
             const std::function<void(ouroboros::Connection&)>& insert) {
  conn.execute_script("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
                      " (id bigint, name text, amount numeric)");
  const auto start = Clock::now();
  {
    ouroboros::Transaction tx = conn.begin();
    insert(conn);
    tx.commit();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  conn.execute_script("DROP TABLE " + table);
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DSN [ROWS] [PIPELINE_BATCH]\n", argv[0]);
    return 2;
  }
  const long rows = argc > 2 ? std::atol(argv[2]) : 100000;
  const long batch = argc > 3 ? std::atol(argv[3]) : 1000;
  ouroboros::Connection conn(argv[1]);
  const std::string table = "bench_bulk_insert";
  const std::string insert = "INSERT INTO " + table + " VALUES ($1, $2, $3)";

  const double one_by_one = timed(conn, table, [&](ouroboros::Connection& c) {
    for (long i = 0; i < rows; ++i) c.execute(insert, i, "name", ouroboros::Decimal("1.5"));
  });
  const double pipelined = timed(conn, table, [&](ouroboros::Connection& c) {
    ouroboros::Pipeline pipeline(c);
    for (long i = 0; i < rows; ++i) {
      pipeline.add(insert, i, "name", ouroboros::Decimal("1.5"));
      if (static_cast<long>(pipeline.size()) == batch || i + 1 == rows)
        for (const auto& result : pipeline.run()) result.get();
    }
  });
  const double copied = timed(conn, table, [&](ouroboros::Connection& c) {
    ouroboros::CopyWriter copy = c.copy_from(table);
    for (long i = 0; i < rows; ++i) copy.write_row(i, "name", ouroboros::Decimal("1.5"));
    copy.finish();
  });
  const auto line = [&](const char* method, double seconds) {
    std::printf("%-11s %8.3f s %10.0f rows/s  %6.1fx one-by-one\n", method, seconds,
                rows / seconds, one_by_one / seconds);
  };
  line("one-by-one", one_by_one);
  line("pipelined", pipelined);
  line("copy", copied);
  return 0;
}
