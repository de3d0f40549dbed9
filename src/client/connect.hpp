// Connecting with backoff: the retry loop and the classification of connection failures.
// Kept apart from Connection so it can be tested with a fake connector.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "ouroboros/connection.hpp"

namespace ouroboros {

struct ConnectAttempt {
  pg_conn* connection = nullptr;  // set on success
  std::string error;              // libpq's message on failure
};

// True when retrying cannot help: authentication failed, unknown role or database, no
// pg_hba.conf entry. (libpq gives no SQLSTATE for start-up failures, so this reads the message.)
bool is_permanent_connect_failure(std::string_view message);

// Calls attempt() until it yields a connection, sleeping per options.backoff in between.
// Throws AuthenticationError / DatabaseError at once for a permanent failure, and ConnectionError
// carrying the last error when the attempts run out.
pg_conn* connect_with_backoff(const ConnectOptions& options,
                              const std::function<ConnectAttempt()>& attempt);

// One libpq connection attempt; a positive timeout overrides the DSN's connect_timeout.
ConnectAttempt connect_once(const std::string& dsn, std::chrono::milliseconds timeout = {});

}  // namespace ouroboros
