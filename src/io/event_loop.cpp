#include "io/event_loop.h"

#include <stdexcept>

namespace ouroboros::io {

EventLoop::EventLoop() : idle_(this) {
  if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
  uv_idle_init(&loop_, idle_.get());
  idle_.mark_initialized();
  tls_buffers_ = std::make_unique<TlsBufferSweeper>(&loop_);
}

EventLoop::~EventLoop() {
  idle_.close();
  deferred_.clear();
  tls_buffers_.reset();  // after the deferred work, which may destroy TLS transports
  // Let every pending close callback run so no handle memory leaks, then release the loop.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  while (uv_run(&loop_, UV_RUN_NOWAIT) != 0) {
  }
  uv_loop_close(&loop_);
}

void EventLoop::run() { uv_run(&loop_, UV_RUN_DEFAULT); }
void EventLoop::stop() { uv_stop(&loop_); }

void EventLoop::defer(std::function<void()> fn) {
  if (deferred_.empty()) {
    // An active idle handle keeps the poll phase from blocking, so the work runs promptly.
    uv_idle_start(idle_.get(), [](uv_idle_t* h) {
      if (auto* self = UvHandle<uv_idle_t>::owner_of<EventLoop>(h)) self->run_deferred();
    });
  }
  deferred_.push_back(std::move(fn));
}

void EventLoop::run_deferred() {
  // Work deferred while running is kept for the next round.
  std::vector<std::function<void()>> batch;
  batch.swap(deferred_);
  for (auto& fn : batch) fn();
  if (deferred_.empty()) uv_idle_stop(idle_.get());
}

}  // namespace ouroboros::io
