#pragma once
// A libuv timer with a callback; stopping or destroying it guarantees the callback will not run.
#include <functional>

#include "common/clock.h"
#include "io/event_loop.h"

namespace ouroboros::io {

class Timer {
 public:
  explicit Timer(EventLoop& loop);
  void start(Duration after, std::function<void()> fn);
  void start_repeating(Duration every, std::function<void()> fn);
  void stop();
  bool active() const;

 private:
  UvHandle<uv_timer_t> handle_;
  std::function<void()> fn_;
};

}  // namespace ouroboros::io
