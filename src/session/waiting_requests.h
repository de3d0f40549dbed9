#pragma once
// Requests waiting in a client's input for a server, answered by the proxy without running them,
// as PostgreSQL answers requests that fail at once: a simple Query or function call gets the
// error and ReadyForQuery; an extended-protocol batch gets the error at its first message and
// ReadyForQuery at its Sync (a Query inside it is skipped with it); a Sync alone gets
// ReadyForQuery; COPY messages outside a COPY are ignored. For a cancel request while the client waits (57014), and for a request whose SQL-level
// prepared statement could not be made again on the server it got. No I/O.
#include <cstddef>
#include <optional>

#include "common/bytes.h"
#include "protocol/messages.h"

namespace ouroboros::session {

struct WaitingAnswers {
  std::size_t used = 0;    // bytes of the input answered (the caller consumes them)
  Bytes out;               // the answers, for the client
  bool terminate = false;  // a Terminate followed the answered requests (it is in `used`)
};

enum class WaitingScope : bool {
  FirstRequest,  // only the first request; none when a Terminate comes first
  AllRequests,   // every request, up to a Terminate
};

// None when a request in scope has not fully arrived (half a message, or a batch without its
// Sync): it then runs as sent.
std::optional<WaitingAnswers> answer_waiting_requests(ByteView input, const protocol::ErrorSpec& error,
                                                      WaitingScope scope, std::size_t max_message_size);

}  // namespace ouroboros::session
