#pragma once
// Delivers a POSIX signal to a callback on the loop thread.
#include <functional>

#include "io/event_loop.h"

namespace ouroboros::io {

class SignalWatcher {
 public:
  SignalWatcher(EventLoop& loop, int signum, std::function<void()> fn);
  void close() { handle_.close(); }

 private:
  UvHandle<uv_signal_t> handle_;
  std::function<void()> fn_;
};

}  // namespace ouroboros::io
