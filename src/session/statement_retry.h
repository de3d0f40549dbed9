#pragma once
// Automatic retry of one autocommit statement that failed with a transient error (by default
// 40P01 deadlock and 40001 serialization failure) or a stale cached plan. The request's own
// messages and the server's output for it are held until its ReadyForQuery, so a failed run is
// dropped and the statement runs again after a backoff, without the client seeing anything but
// the last run (and each notice once).
// No I/O: the caller feeds the request's messages and the server's output, sends what is
// released, and runs the request again when the delay it was told has passed.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "pool/backoff.h"
#include "sql/query_shape.h"

namespace ouroboros::session {

// A view of the configuration's retry settings (built per decision: nothing is copied).
struct RetryPolicy {
  std::size_t max_attempts = 3;  // runs in all, the first included
  std::span<const std::string> sqlstates;  // errors worth another run
  pool::BackoffPolicy backoff;
};

class StatementRetry {
 public:
  // Output of the current request is held back.
  bool holding() const { return holding_; }
  // The held request failed and waits for its backoff delay before running again.
  bool pending() const { return pending_; }
  // The held request is being sent again (its messages are not tracked a second time).
  bool refeeding() const { return refeeding_; }
  bool idle() const { return !holding_ && !pending_ && !refeeding_; }
  std::size_t attempt() const { return attempt_; }

  // A request starts with nothing else outstanding, outside a transaction block: hold it.
  // `request_storage` and `held_storage` are empty buffers whose capacity is reused.
  void start(Bytes request_storage, Bytes held_storage);
  // One client message of the held request (its text and shape for a Query). False when the
  // request can no longer run again: a second request pipelined behind it, a Flush (the client
  // wants output before its Sync), several statements, other than one Execute per Sync, or too
  // big to keep. The caller then releases what is held.
  bool track(char type, ByteView raw, std::optional<std::string_view> text, const sql::QueryShape& shape);
  // Server output for the client. False when there is too much to keep (this run is final): the
  // caller releases.
  bool hold(ByteView output);
  bool held_nothing() const { return held_.empty(); }
  // A notice or ParameterStatus sent at once while holding: false when an earlier run of this
  // request sent the same one (the client has it; skip it).
  bool first_time_asynchronous(ByteView message);

  // How a run of the held request ended.
  struct Verdict {
    bool again = false;          // it runs again after `delay`; its output is dropped
    Duration delay{0};
    // For the retry counters, when a final run followed earlier ones: what they failed with.
    bool reran = false;
    bool stale_plan = false;
    std::string sqlstate;
  };
  // The run ended with ReadyForQuery; `sqlstate`/`message` of its error, empty when none.
  Verdict finished(std::string_view sqlstate, std::string_view message, const RetryPolicy& policy,
                   RandomSource& random);
  // The delay passed: the request to send again, as the client sent it. Until end_refeed(), the
  // messages sent are not tracked.
  const Bytes& begin_refeed();
  void end_refeed() { refeeding_ = false; }

  // What is held, for the client; the request is over for retries (clear() follows).
  Bytes take_held() { return std::move(held_); }
  // Back to idle; `give` gets each buffer that has storage (contents and capacity as they are) for
  // reuse.
  template <class Give>
  void clear(Give&& give) {
    if (request_.capacity() != 0) give(std::exchange(request_, {}));
    if (held_.capacity() != 0) give(std::exchange(held_, {}));
    reset();
  }

 private:
  void reset();

  bool holding_ = false;
  bool eligible_ = false;  // a single statement outside a transaction, complete
  bool refeeding_ = false;
  bool pending_ = false;
  int executes_ = 0;
  int describes_ = 0;  // a re-run after DDL is safe only if the client learns the new shape
  std::size_t attempt_ = 1;
  Bytes request_;  // the client's own messages of the request
  Bytes held_;     // output held back from the client
  // What only a request that runs again, or hears a notice while held, needs: made then, so an
  // idle client does not carry it.
  struct Rerun {
    std::string sqlstate;  // the retryable error the last run ended with
    bool stale_plan = false;
    // Hashes of the notices sent during this request's runs; a re-run skips the ones it repeats.
    std::vector<std::size_t> notices_sent;
    std::vector<std::size_t> notices_to_skip;
    pool::Backoff backoff;  // each re-run waits longer, like reconnects do
  };
  std::unique_ptr<Rerun> rerun_;
  Rerun& rerun() {
    if (!rerun_) rerun_ = std::make_unique<Rerun>();
    return *rerun_;
  }
};

}  // namespace ouroboros::session
