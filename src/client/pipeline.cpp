// Pipeline: libpq's pipeline mode, with the statement cache, trace comments and observers.
#include "ouroboros/pipeline.hpp"

#include "connection_state.hpp"

namespace ouroboros {
namespace {

// One query's result in pipeline mode, and the NULL that ends it.
PGresult* take_result(PGconn* conn) {
  PGresult* result = PQgetResult(conn);
  if (result != nullptr && PQresultStatus(result) != PGRES_PIPELINE_SYNC) {
    while (PGresult* extra = PQgetResult(conn)) PQclear(extra);  // normally none
  }
  return result;
}

// Reads up to and including the next synchronisation point's result.
void take_sync(PGconn* conn) {
  for (int guard = 0; guard < 1000; ++guard) {
    PGresult* result = PQgetResult(conn);
    if (result == nullptr) {
      if (PQstatus(conn) == CONNECTION_BAD) return;
      continue;
    }
    const bool sync = PQresultStatus(result) == PGRES_PIPELINE_SYNC;
    PQclear(result);
    if (sync) return;
  }
}

}  // namespace

const CommandResult& PipelineResult::get() const {
  if (error_) std::rethrow_exception(error_);
  return *result_;
}

Pipeline::Pipeline(Connection& connection, PipelineOptions options)
    : connection_(connection), options_(options) {}

std::size_t Pipeline::add_with(std::string_view sql, Params params) {
  statements_.push_back(Statement{std::string(sql), std::move(params)});
  return statements_.size() - 1;
}

std::vector<PipelineResult> Pipeline::run() {
  if (!connection_.state_) throw UsageError("use of a moved-from Connection");
  Connection::State& s = *connection_.state_;
  s.require_open();
  const std::vector<Statement> statements = std::exchange(statements_, {});
  std::vector<PipelineResult> results(statements.size());
  if (statements.empty()) return results;
  if (s.cache.enabled()) s.deallocate_retired();  // not possible once in pipeline mode
  if (PQenterPipelineMode(s.conn) != 1) s.raise(nullptr, "(entering pipeline mode)");
  s.busy = "a pipeline";

  struct Sent {
    std::unique_ptr<detail::Observation> observation;
    std::string key;  // the statement cache's key, when the cache was used
    bool prepared_now = false;
    bool sent = false;
  };
  std::vector<Sent> sent(statements.size());
  bool connection_ok = true;
  for (std::size_t i = 0; i < statements.size() && connection_ok; ++i) {
    const Statement& statement = statements[i];
    Sent& entry = sent[i];
    entry.observation = std::make_unique<detail::Observation>(
        s.observers, s.start_event(StatementKind::Pipelined, statement.sql, &statement.params),
        &statement.params);
    CacheOutcome& outcome = entry.observation->event().cache;
    const Params& params = statement.params;
    const int count = static_cast<int>(params.size());
    bool ok = true;
    if (!s.cache.enabled() || s.commented()) {
      outcome = s.cache.enabled() ? CacheOutcome::Bypassed : CacheOutcome::NotUsed;
      ok = PQsendQueryParams(s.conn, s.text_for(statement.sql).c_str(), count, params.types(),
                             params.values(), nullptr, nullptr, 0) == 1;
    } else {
      entry.key = params.type_signature() + '\n' + statement.sql;
      std::string name;
      if (const std::string* cached = s.cache.find(entry.key)) {
        name = *cached;
        outcome = CacheOutcome::Hit;
      } else {
        name = s.cache.insert(entry.key);
        outcome = CacheOutcome::Prepared;
        entry.prepared_now = true;
        ok = PQsendPrepare(s.conn, name.c_str(), statement.sql.c_str(), count, params.types()) == 1;
      }
      ok = ok && PQsendQueryPrepared(s.conn, name.c_str(), count, params.values(), nullptr, nullptr,
                                     0) == 1;
    }
    if (ok && !options_.atomic) ok = PQpipelineSync(s.conn) == 1;
    entry.sent = ok;
    connection_ok = ok;
  }
  if (connection_ok && options_.atomic) PQpipelineSync(s.conn);
  PQflush(s.conn);

  for (std::size_t i = 0; i < statements.size(); ++i) {
    const Statement& statement = statements[i];
    Sent& entry = sent[i];
    PipelineResult& out = results[i];
    try {
      if (!entry.sent) s.raise(nullptr, statement.sql);  // never sent: the connection failed
      PGresult* failed_prepare = nullptr;
      if (entry.prepared_now) {
        PGresult* prepared = take_result(s.conn);
        if (prepared != nullptr && PQresultStatus(prepared) == PGRES_COMMAND_OK) {
          PQclear(prepared);
        } else {
          failed_prepare = prepared;
          s.cache.forget(entry.key);
        }
      }
      PGresult* result = take_result(s.conn);
      if (failed_prepare != nullptr) {
        PQclear(result);  // the execution was skipped
        result = failed_prepare;
      }
      if (!options_.atomic) take_sync(s.conn);
      if (result != nullptr && PQresultStatus(result) == PGRES_PIPELINE_ABORTED) {
        PQclear(result);
        throw PipelineAborted("not run: an earlier statement of the atomic pipeline failed");
      }
      if (result != nullptr && PQresultStatus(result) == PGRES_FATAL_ERROR && !entry.key.empty()) {
        const std::string state = detail::error_field(result, PG_DIAG_SQLSTATE);
        if (state == "26000") s.cache.forget(entry.key);  // gone: prepared again next time
        if (state == "0A000") s.cache.retire(entry.key);  // stale plan
      }
      Result done = s.check(result, statement.sql);
      const bool has_rows = PQresultStatus(done.native_handle()) == PGRES_TUPLES_OK;
      entry.observation->succeeded(done.native_handle());
      out.result_.emplace(std::move(done), has_rows);
    } catch (const std::exception& error) {
      entry.observation->failed(error);
      out.error_ = std::current_exception();
      if (const auto* database = dynamic_cast<const DatabaseError*>(&error))
        out.sqlstate_ = database->sqlstate();
    }
  }
  if (connection_ok && options_.atomic) take_sync(s.conn);
  PQexitPipelineMode(s.conn);
  s.busy = nullptr;
  return results;
}

}  // namespace ouroboros
