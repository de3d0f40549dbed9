// An observer that keeps a copy of every event, for the tests of hooks, COPY and pipelines.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "ouroboros/client.hpp"

namespace client_test {

struct SeenEvent {
  std::uint64_t id = 0;
  ouroboros::StatementKind kind{};
  std::string sql;
  std::size_t parameter_count = 0;
  std::vector<std::string> parameter_values;  // only with wants_parameter_values
  ouroboros::TransactionStatus transaction{};
  int attempt = 1;
  bool retry = false;
  ouroboros::TraceContext trace;
  std::chrono::nanoseconds duration{0};
  std::int64_t rows = -1;
  ouroboros::CacheOutcome cache{};
  bool failed = false;
  std::string sqlstate, error_class, error_message;
};

class Recorder : public ouroboros::QueryObserver {
 public:
  explicit Recorder(bool with_values = false) : with_values_(with_values) {}
  void on_query_start(const ouroboros::QueryEvent& event) override {
    std::lock_guard lock(mutex_);
    starts_.push_back(copy(event));
  }
  void on_query_end(const ouroboros::QueryEvent& event) override {
    std::lock_guard lock(mutex_);
    ends_.push_back(copy(event));
  }
  bool wants_parameter_values() const override { return with_values_; }

  std::vector<SeenEvent> starts() const {
    std::lock_guard lock(mutex_);
    return starts_;
  }
  std::vector<SeenEvent> ends() const {
    std::lock_guard lock(mutex_);
    return ends_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    starts_.clear();
    ends_.clear();
  }

 private:
  static SeenEvent copy(const ouroboros::QueryEvent& e) {
    SeenEvent s;
    s.id = e.id;
    s.kind = e.kind;
    s.sql = std::string(e.sql);
    s.parameter_count = e.parameter_count;
    if (e.parameters != nullptr)
      for (std::size_t i = 0; i < e.parameters->size(); ++i)
        s.parameter_values.emplace_back(e.parameters->is_null(i) ? "NULL" : e.parameters->text(i));
    s.transaction = e.transaction;
    s.attempt = e.attempt;
    s.retry = e.retry;
    s.trace = e.trace;
    s.duration = e.duration;
    s.rows = e.rows;
    s.cache = e.cache;
    s.failed = e.failed;
    s.sqlstate = std::string(e.sqlstate);
    s.error_class = std::string(e.error_class);
    s.error_message = std::string(e.error_message);
    return s;
  }

  bool with_values_;
  mutable std::mutex mutex_;
  std::vector<SeenEvent> starts_, ends_;
};

// The SQL of each event, in order.
inline std::vector<std::string> sqls(const std::vector<SeenEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.sql);
  return out;
}

}  // namespace client_test
