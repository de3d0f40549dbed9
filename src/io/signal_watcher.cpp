#include "io/signal_watcher.h"

namespace ouroboros::io {

SignalWatcher::SignalWatcher(EventLoop& loop, int signum, std::function<void()> fn)
    : handle_(&fn_), fn_(std::move(fn)) {
  uv_signal_init(loop.raw(), handle_.get());
  handle_.mark_initialized();
  uv_signal_start(
      handle_.get(),
      [](uv_signal_t* h, int) {
        if (auto* fn = UvHandle<uv_signal_t>::owner_of<std::function<void()>>(h)) (*fn)();
      },
      signum);
  // Signals alone must not keep the loop running.
  uv_unref(handle_.as_handle());
}

}  // namespace ouroboros::io
