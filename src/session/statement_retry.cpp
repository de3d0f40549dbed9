#include "session/statement_retry.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "protocol/messages.h"
#include "session/reply_queue.h"  // kCachedPlanChanged

namespace ouroboros::session {

namespace fe = protocol::frontend;

namespace {
constexpr std::size_t kMaxRequest = 256u << 10;  // a bigger request is not kept for a re-run
constexpr std::size_t kMaxHeld = 1u << 20;       // more output than this goes out: the run is final
constexpr std::size_t kMaxRememberedNotices = 1024;
}  // namespace

void StatementRetry::start(Bytes request_storage, Bytes held_storage) {
  request_ = std::move(request_storage);
  held_ = std::move(held_storage);
  request_.clear();
  held_.clear();
  holding_ = true;
}

bool StatementRetry::track(char type, ByteView raw, std::optional<std::string_view> text,
                           const sql::QueryShape& shape) {
  if (refeeding_) return true;
  if (eligible_) return false;  // a second request behind the first: replaying would reorder them
  append(request_, raw);
  if (request_.size() > kMaxRequest) return false;
  switch (type) {
    case fe::kExecute:
      ++executes_;
      return true;
    case fe::kDescribe:
      ++describes_;
      return true;
    case fe::kFlush:
      return false;
    case fe::kQuery:
      // Two statements need a ';' between them: without one, no need to lex the text.
      eligible_ = text && (text->find(';') == std::string_view::npos ||
                           sql::count_statements_quickly(*text, shape) == 1);
      return eligible_;
    case fe::kSync:
      eligible_ = executes_ == 1;
      return eligible_;
    default:
      return true;
  }
}

bool StatementRetry::hold(ByteView output) {
  append(held_, output);
  return held_.size() <= kMaxHeld;
}

bool StatementRetry::first_time_asynchronous(ByteView message) {
  const std::size_t hash = std::hash<std::string_view>{}(as_chars(message));
  Rerun& r = rerun();
  auto& skip = r.notices_to_skip;
  if (auto it = std::find(skip.begin(), skip.end(), hash); it != skip.end()) {
    skip.erase(it);
    return false;
  }
  if (r.notices_sent.size() < kMaxRememberedNotices) r.notices_sent.push_back(hash);
  return true;
}

StatementRetry::Verdict StatementRetry::finished(std::string_view sqlstate, std::string_view message,
                                                 const RetryPolicy& policy, RandomSource& random) {
  Verdict verdict;
  if (!holding_ || !eligible_) return verdict;
  const bool failed = !sqlstate.empty();
  const bool retryable =
      failed && std::find(policy.sqlstates.begin(), policy.sqlstates.end(), sqlstate) != policy.sqlstates.end();
  // A plan invalidated by DDL: the statement was closed on the server and is prepared afresh on
  // the next run, so one more run is enough. A client that does not describe the statement again
  // (asyncpg) would get rows of a shape it was not told about: for it the error goes through.
  const bool stale = failed && sqlstate == "0A000" && message == kCachedPlanChanged && attempt_ == 1 && describes_ > 0;
  if ((retryable && attempt_ < policy.max_attempts) || stale) {
    Rerun& r = rerun();
    r.backoff.set_policy(policy.backoff);
    verdict.again = true;
    verdict.delay = stale ? Duration::zero() : r.backoff.next_delay(random);
    r.sqlstate = std::string(sqlstate);
    r.stale_plan = stale;
    held_.clear();
    pending_ = true;
    return verdict;
  }
  if (attempt_ > 1 && rerun_) {
    verdict.reran = true;
    verdict.stale_plan = rerun_->stale_plan;
    verdict.sqlstate = rerun_->sqlstate;
  }
  return verdict;
}

const Bytes& StatementRetry::begin_refeed() {
  pending_ = false;
  ++attempt_;
  Rerun& r = rerun();
  r.notices_to_skip = r.notices_sent;
  refeeding_ = true;
  return request_;
}

void StatementRetry::reset() {
  request_.clear();
  held_.clear();
  holding_ = eligible_ = refeeding_ = pending_ = false;
  executes_ = describes_ = 0;
  attempt_ = 1;
  rerun_.reset();
}

}  // namespace ouroboros::session
