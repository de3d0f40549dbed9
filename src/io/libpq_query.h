#pragma once
// Runs one parameterised query on a connection of its own, with libpq's asynchronous API driven
// by the event loop (uv_poll on libpq's socket): nothing blocks the loop. libpq would resolve a
// host name synchronously, so a name is resolved first on libuv's thread pool and handed to
// libpq as `hostaddr` (the name stays `host`, for TLS verification and SNI). Used for auth_query.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "io/event_loop.h"
#include "io/host_resolver.h"
#include "io/timer.h"
#include "io/uv_handle.h"

typedef struct pg_conn PGconn;

namespace ouroboros::io {
struct LibpqApi;
}

namespace ouroboros::io {

// Loads libpq if it is not yet loaded (io/libpq_api.h); "" when it is there, else why not.
std::string libpq_load_error();

class LibpqQuery {
 public:
  struct Result {
    std::string error;  // empty on success
    std::size_t columns = 0;
    std::vector<std::vector<std::optional<std::string>>> rows;  // text values; nullopt = NULL
  };
  // Called once, from the loop (never inside start()); the query may be destroyed in it only
  // through EventLoop::defer.
  using OnDone = std::function<void(Result)>;

  // `conninfo`: libpq keyword/value pairs (host, port, dbname, user, password, ...).
  LibpqQuery(EventLoop& loop, std::vector<std::pair<std::string, std::string>> conninfo,
             std::string sql, std::vector<std::string> params, Duration timeout, OnDone on_done);
  ~LibpqQuery();
  LibpqQuery(const LibpqQuery&) = delete;
  LibpqQuery& operator=(const LibpqQuery&) = delete;

  void start();

 private:
  enum class Phase { Connecting, Flushing, Reading, Done };
  void connect();
  void resolved(const std::string& name, int status, addrinfo* addresses);
  void advance();
  void connect_step();
  void flush_step();
  void read_step();
  void watch(bool readable, bool writable);
  void finish(std::string error);

  EventLoop& loop_;
  std::vector<std::pair<std::string, std::string>> conninfo_;
  std::string sql_;
  std::vector<std::string> params_;
  Duration timeout_;
  OnDone on_done_;
  PGconn* conn_ = nullptr;
  Phase phase_ = Phase::Connecting;
  bool connect_writable_ = true;  // libpq starts by waiting for the socket to be writable
  HostResolver resolver_;
  std::unique_ptr<UvHandle<uv_poll_t>> poll_;
  int polled_fd_ = -1;
  Timer timer_;
  Result result_;
  bool have_result_ = false;
  std::string load_error_;
  const LibpqApi* pq_;  // libpq, loaded at the first query (io/libpq_api.h); null if it cannot be
};

}  // namespace ouroboros::io
