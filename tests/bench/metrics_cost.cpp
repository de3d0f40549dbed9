// Cost of the counting the proxy does per request, in nanoseconds: what the data path pays for
// metrics. Compare with the proxy's CPU per transaction (docs/performance.md). Not a test.
//   tests/bench/metrics_cost.sh
#include <chrono>
#include <cstdio>

#include "metrics/counter.h"
#include "metrics/histogram.h"
#include "metrics/sqlstate_class.h"

int main() {
  using namespace ouroboros::metrics;
  Counter transactions, queries, bytes_in, bytes_out, query_time_us, transaction_time_us, wait_time_us;
  Histogram query_duration, transaction_duration, wait_duration;
  SqlstateCounters errors;
  constexpr int kRequests = 20'000'000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    // One autocommit statement: what ServerConnection and ClientConnection count for it.
    double seconds = 0.0001 * (i % 1000);
    queries.inc();
    query_duration.observe(seconds);
    query_time_us.inc(static_cast<std::uint64_t>(seconds * 1e6));
    bytes_in.inc(64);
    bytes_out.inc(256);
    transactions.inc();
    transaction_duration.observe(seconds);
    transaction_time_us.inc(static_cast<std::uint64_t>(seconds * 1e6));
    wait_duration.observe(seconds / 10);
    wait_time_us.inc(1);
    if (i % 100 == 0) errors.inc("40P01");
  }
  auto elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  std::printf("metrics counting per request: %.1f ns (%d requests; checksum %llu)\n", elapsed / kRequests, kRequests,
              static_cast<unsigned long long>(queries.value() + transactions.value() + bytes_out.value()));
}
