#include "admin/show_tables.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "admin/text_format.h"

namespace ouroboros::admin {

namespace {

constexpr ColumnType kText = ColumnType::Text;
constexpr ColumnType kInt8 = ColumnType::Int8;
constexpr ColumnType kInt4 = ColumnType::Int4;
constexpr ColumnType kBool = ColumnType::Bool;
constexpr ColumnType kNumeric = ColumnType::Numeric;

std::uint64_t count(std::size_t n) {
  return static_cast<std::uint64_t>(n);
}
std::int64_t micros(Microseconds d) {
  return static_cast<std::int64_t>(d.count());
}
std::int64_t ratio(std::int64_t total, std::uint64_t n) {
  if (n == 0 || n > static_cast<std::uint64_t>(INT64_MAX)) return 0;
  return total / static_cast<std::int64_t>(n);
}

// The counters of every pool of one database, summed.
struct DatabaseTotals {
  std::string database;
  std::uint64_t transactions = 0, queries = 0, bytes_received = 0, bytes_sent = 0;
  Microseconds transaction_time{0}, query_time{0}, wait_time{0};
  std::uint64_t connect_attempts = 0, connect_failures = 0;
};

std::vector<DatabaseTotals> totals_per_database(const std::vector<PoolSnapshot>& pools) {
  std::vector<DatabaseTotals> totals;
  std::unordered_map<std::string, std::size_t> index;
  for (const PoolSnapshot& pool : pools) {
    auto [it, inserted] = index.try_emplace(pool.database, totals.size());
    if (inserted) totals.push_back(DatabaseTotals{pool.database});
    DatabaseTotals& t = totals[it->second];
    t.transactions += pool.transactions;
    t.queries += pool.queries;
    t.bytes_received += pool.bytes_received;
    t.bytes_sent += pool.bytes_sent;
    t.transaction_time += pool.transaction_time;
    t.query_time += pool.query_time;
    t.wait_time += pool.wait_time;
    t.connect_attempts += pool.server_connect_attempts;
    t.connect_failures += pool.server_connect_failures;
  }
  return totals;
}

// Lifetime averages: per-second rates are not kept (0); times are per transaction / query.
void append_totals(ResultSet& table, const DatabaseTotals& t) {
  table.unsigned_integer(t.transactions)
      .unsigned_integer(t.queries)
      .unsigned_integer(t.bytes_received)
      .unsigned_integer(t.bytes_sent)
      .integer(micros(t.transaction_time))
      .integer(micros(t.query_time))
      .integer(micros(t.wait_time));
}
void append_averages(ResultSet& table, const DatabaseTotals& t) {
  table
      .integer(0)  // transactions per second
      .integer(0)  // queries per second
      .integer(0)  // bytes received per second
      .integer(0)  // bytes sent per second
      .integer(ratio(micros(t.transaction_time), t.transactions))
      .integer(ratio(micros(t.query_time), t.queries))
      .integer(ratio(micros(t.wait_time), t.transactions));
}

std::vector<Column> per_database_columns() {
  return {{"database", kText},       {"xact_count", kInt8}, {"query_count", kInt8},
          {"bytes_received", kInt8}, {"bytes_sent", kInt8}, {"xact_time", kInt8},
          {"query_time", kInt8},     {"wait_time", kInt8}};
}

void append_time_or_null(ResultSet& table, SystemTime time) {
  if (time == SystemTime{}) {
    table.null();
  } else {
    table.text(format_time(time));
  }
}

}  // namespace

ResultSet pools_table(const std::vector<PoolSnapshot>& pools) {
  ResultSet table({{"database", kText},
                   {"user", kText},
                   {"cl_active", kInt8},
                   {"cl_waiting", kInt8},
                   {"cl_active_cancel_req", kInt8},
                   {"cl_waiting_cancel_req", kInt8},
                   {"sv_active", kInt8},
                   {"sv_active_cancel", kInt8},
                   {"sv_being_canceled", kInt8},
                   {"sv_idle", kInt8},
                   {"sv_used", kInt8},
                   {"sv_tested", kInt8},
                   {"sv_login", kInt8},
                   {"maxwait", kInt8},
                   {"maxwait_us", kInt8},
                   {"pool_mode", kText},
                   // Ouroboros only.
                   {"cl_idle", kInt8},
                   {"paused", kBool},
                   {"reachable", kBool},
                   {"backoff_delay_ms", kInt8}});
  for (const PoolSnapshot& pool : pools) {
    table.text(pool.database)
        .text(pool.user)
        // PgBouncer counts idle logged-in clients as active; cl_idle tells them apart.
        .unsigned_integer(count(pool.clients_active + pool.clients_idle))
        .unsigned_integer(count(pool.clients_waiting))
        .integer(0)  // cancel requests are forwarded at once, never queued
        .integer(0)
        .unsigned_integer(count(pool.servers_active))
        .integer(0)
        .integer(0)
        .unsigned_integer(count(pool.servers_idle))
        .integer(0)  // no server_check_query: servers are never "used" or "tested"
        .integer(0)
        .unsigned_integer(count(pool.servers_login))
        .integer(whole_seconds(pool.max_wait))
        .integer(microseconds_part(pool.max_wait))
        .text(pool.mode)
        .unsigned_integer(count(pool.clients_idle))
        .boolean(pool.paused)
        .boolean(pool.reachable)
        .integer(micros(pool.backoff_delay) / 1000);
  }
  return table;
}

ResultSet stats_table(const std::vector<PoolSnapshot>& pools) {
  ResultSet table({{"database", kText},
                   {"total_xact_count", kInt8},
                   {"total_query_count", kInt8},
                   {"total_received", kInt8},
                   {"total_sent", kInt8},
                   {"total_xact_time", kInt8},
                   {"total_query_time", kInt8},
                   {"total_wait_time", kInt8},
                   {"avg_xact_count", kInt8},
                   {"avg_query_count", kInt8},
                   {"avg_recv", kInt8},
                   {"avg_sent", kInt8},
                   {"avg_xact_time", kInt8},
                   {"avg_query_time", kInt8},
                   {"avg_wait_time", kInt8},
                   // Ouroboros only.
                   {"total_server_connect_attempts", kInt8},
                   {"total_server_connect_failures", kInt8}});
  for (const DatabaseTotals& t : totals_per_database(pools)) {
    table.text(t.database);
    append_totals(table, t);
    append_averages(table, t);
    table.unsigned_integer(t.connect_attempts).unsigned_integer(t.connect_failures);
  }
  return table;
}

ResultSet stats_totals_table(const std::vector<PoolSnapshot>& pools) {
  ResultSet table(per_database_columns());
  for (const DatabaseTotals& t : totals_per_database(pools)) {
    table.text(t.database);
    append_totals(table, t);
  }
  return table;
}

ResultSet stats_averages_table(const std::vector<PoolSnapshot>& pools) {
  ResultSet table(per_database_columns());
  for (const DatabaseTotals& t : totals_per_database(pools)) {
    table.text(t.database);
    append_averages(table, t);
  }
  return table;
}

ResultSet databases_table(const std::vector<DatabaseSnapshot>& databases) {
  ResultSet table({{"name", kText},
                   {"host", kText},
                   {"port", kInt4},
                   {"database", kText},
                   {"force_user", kText},
                   {"pool_size", kInt8},
                   {"min_pool_size", kInt8},
                   {"reserve_pool", kInt8},
                   {"pool_mode", kText},
                   {"max_connections", kInt8},
                   {"current_connections", kInt8},
                   {"paused", kInt4},  // 0/1 as in PgBouncer, which exporters parse as numbers
                   {"disabled", kInt4}});
  for (const DatabaseSnapshot& db : databases) {
    table.text(db.name)
        .text_or_null(db.host)
        .integer(db.port)
        .text(db.dbname)
        .text_or_null(db.user)
        .unsigned_integer(count(db.pool_size))
        .unsigned_integer(count(db.min_pool_size))
        .unsigned_integer(count(db.reserve_pool_size))
        .text(db.mode)
        .unsigned_integer(count(db.max_connections))
        .unsigned_integer(count(db.current_connections))
        .integer(db.paused ? 1 : 0)
        .integer(0);  // no DISABLE command
  }
  return table;
}

ResultSet connections_table(const std::vector<ConnectionSnapshot>& connections,
                            std::string_view type) {
  ResultSet table({{"type", kText},
                   {"user", kText},
                   {"database", kText},
                   {"state", kText},
                   {"addr", kText},
                   {"port", kInt4},
                   {"local_addr", kText},
                   {"local_port", kInt4},
                   {"connect_time", kText},
                   {"request_time", kText},
                   {"wait", kInt8},
                   {"wait_us", kInt8},
                   {"close_needed", kInt4},
                   {"ptr", kText},
                   {"link", kText},
                   {"remote_pid", kInt4},
                   {"tls", kText},
                   {"application_name", kText},
                   // Ouroboros only.
                   {"id", kInt8},
                   {"tls_version", kText},
                   {"tls_cipher", kText},
                   {"pinned", kText}});
  for (const ConnectionSnapshot& c : connections) {
    table.text(type)
        .text(c.user)
        .text(c.database)
        .text(c.state)
        .text_or_null(c.address)
        .integer(c.port)
        .null()  // the local end is not tracked
        .null();
    append_time_or_null(table, c.connect_time);
    append_time_or_null(table, c.request_time);
    table.integer(whole_seconds(c.wait))
        .integer(microseconds_part(c.wait))
        .integer(0)
        .text(format_id(c.id));
    if (c.link == 0) {
      table.null();
    } else {
      table.text(format_id(c.link));
    }
    // PgBouncer's tls column: "version/cipher", empty for plain text.
    std::string tls = c.tls_version.empty() ? std::string() : c.tls_version + "/" + c.tls_cipher;
    table.integer(c.backend_pid).text(tls).text(c.application_name).unsigned_integer(c.id);
    table.text_or_null(c.tls_version).text_or_null(c.tls_cipher).text(c.pinned);
  }
  return table;
}

ResultSet config_table(const std::vector<std::pair<std::string, std::string>>& settings) {
  ResultSet table({{"key", kText}, {"value", kText}, {"default", kText}, {"changeable", kText}});
  for (const auto& [key, value] : settings) {
    table.text(key).text(value).null().null();  // defaults and reloadability are not exposed
  }
  return table;
}

ResultSet version_table(const std::string& version) {
  ResultSet table({{"version", kText}});
  table.text(version);
  return table;
}

ResultSet queries_table(std::vector<QueryStatsSnapshot> queries) {
  std::sort(queries.begin(), queries.end(),
            [](const QueryStatsSnapshot& a, const QueryStatsSnapshot& b) {
              if (a.total_time != b.total_time) return a.total_time > b.total_time;
              return a.fingerprint < b.fingerprint;
            });
  ResultSet table({{"fingerprint", kText},
                   {"calls", kInt8},
                   {"errors", kInt8},
                   {"rows", kInt8},
                   {"total_time_ms", kNumeric},
                   {"mean_time_ms", kNumeric},
                   {"max_time_ms", kNumeric}});
  for (const QueryStatsSnapshot& q : queries) {
    table.text(q.fingerprint)
        .unsigned_integer(q.calls)
        .unsigned_integer(q.errors)
        .unsigned_integer(q.rows)
        .text(format_milliseconds(q.total_time))
        .text(format_milliseconds(Microseconds{ratio(micros(q.total_time), q.calls)}))
        .text(format_milliseconds(q.max_time));
  }
  return table;
}

}  // namespace ouroboros::admin
