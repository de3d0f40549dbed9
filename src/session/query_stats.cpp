#include "session/query_stats.h"

#include <algorithm>

namespace ouroboros::session {

void QueryStatsStore::record(std::uint64_t key, std::string_view fingerprint, std::chrono::microseconds elapsed,
                             bool error, std::uint64_t rows) {
  auto it = stats_.find(key);
  if (it == stats_.end()) {
    while (stats_.size() >= capacity_) {
      auto least = std::min_element(stats_.begin(), stats_.end(),
                                    [](const auto& a, const auto& b) { return a.second.total < b.second.total; });
      stats_.erase(least);
    }
    it = stats_.emplace(key, QueryStats{}).first;
    it->second.fingerprint = std::string(fingerprint);
  }
  QueryStats& s = it->second;
  ++s.calls;
  if (error) ++s.errors;
  s.rows += rows;
  s.total += elapsed;
  s.max = std::max(s.max, elapsed);
}

std::vector<QueryStats> QueryStatsStore::top(std::size_t limit) const {
  std::vector<QueryStats> out;
  out.reserve(stats_.size());
  for (const auto& [fp, s] : stats_) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const QueryStats& a, const QueryStats& b) {
    return a.total != b.total ? a.total > b.total : a.fingerprint < b.fingerprint;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace ouroboros::session
