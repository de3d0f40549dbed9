// LISTEN / UNLISTEN / NOTIFY and waiting for notifications.
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "connection_state.hpp"
#include "ouroboros/notification.hpp"

namespace ouroboros {
namespace {

std::string quoted_channel(std::string_view channel) {
  if (channel.empty()) throw UsageError("the channel name is empty");
  std::string out = "\"";
  for (const char c : channel) {
    if (c == '\0') throw UsageError("NUL in a channel name");
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void Connection::listen(std::string_view channel) {
  run_simple("LISTEN " + quoted_channel(channel), StatementKind::Notify);
}

void Connection::unlisten(std::string_view channel) {
  run_simple("UNLISTEN " + quoted_channel(channel), StatementKind::Notify);
}

void Connection::unlisten_all() {
  run_simple("UNLISTEN *", StatementKind::Notify);
}

void Connection::notify(std::string_view channel, std::string_view payload) {
  if (channel.empty()) throw UsageError("notify: the channel name is empty");
  run("SELECT pg_notify($1, $2)", Params(channel, payload), StatementKind::Notify);
}

std::optional<Notification> Connection::next_notification() {
  if (!state_) throw UsageError("use of a moved-from Connection");
  State& s = *state_;
  s.require_open();
  if (PQconsumeInput(s.conn) != 1) s.raise(nullptr, "");
  PGnotify* notice = PQnotifies(s.conn);
  if (notice == nullptr) return std::nullopt;
  Notification notification{notice->relname ? notice->relname : "",
                            notice->extra ? notice->extra : "", notice->be_pid};
  PQfreemem(notice);
  return notification;
}

std::optional<Notification> Connection::wait_for_notification(std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) throw UsageError("wait_for_notification: negative timeout");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto notification = next_notification()) return notification;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd descriptor{PQsocket(state_->conn), POLLIN, 0};
    const int ready =
        ::poll(&descriptor, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
    if (ready < 0 && errno != EINTR) state_->raise(nullptr, "");
  }
}

int Connection::socket() const noexcept {
  return state_ ? PQsocket(state_->conn) : -1;
}

}  // namespace ouroboros
