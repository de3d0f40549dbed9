#pragma once
// Sends one CancelRequest to a PostgreSQL server on a fresh connection, then goes away.
#include <memory>
#include <string>

#include "io/event_loop.h"
#include "io/tcp_connector.h"

namespace ouroboros::proxy {

// Fire and forget: the object deletes itself when done (success or failure).
void forward_cancel(io::EventLoop& loop, const std::string& host, std::uint16_t port,
                    std::int32_t pid, std::int32_t key);

}  // namespace ouroboros::proxy
