#pragma once
// The SHOW tables of the admin console, built from ProxyView snapshots. Column names follow
// PgBouncer where the meaning is the same, in PgBouncer's order; Ouroboros-only columns come
// last so tools that read columns by position keep working. docs/admin-console.md describes
// every column.
#include <string>
#include <utility>
#include <vector>

#include "admin/proxy_view.h"
#include "admin/result_set.h"

namespace ouroboros::admin {

ResultSet pools_table(const std::vector<PoolSnapshot>& pools);
// Pools summed per database, in order of first appearance.
ResultSet stats_table(const std::vector<PoolSnapshot>& pools);
ResultSet stats_totals_table(const std::vector<PoolSnapshot>& pools);
ResultSet stats_averages_table(const std::vector<PoolSnapshot>& pools);
ResultSet databases_table(const std::vector<DatabaseSnapshot>& databases);
// `type` is "C" for SHOW CLIENTS, "S" for SHOW SERVERS.
ResultSet connections_table(const std::vector<ConnectionSnapshot>& connections,
                            std::string_view type);
ResultSet config_table(const std::vector<std::pair<std::string, std::string>>& settings);
ResultSet version_table(const std::string& version);
// Ordered by total time, longest first (ties by fingerprint).
ResultSet queries_table(std::vector<QueryStatsSnapshot> queries);

}  // namespace ouroboros::admin
