#pragma once
// One libuv loop and the small services every connection on it needs: time and deferred work.
// One EventLoop per thread; nothing here is shared between loops.
#include <functional>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "io/buffer_pool.h"
#include "io/scratch_pool.h"
#include "io/tls_buffer_sweeper.h"
#include "io/uv_handle.h"

namespace ouroboros::io {

class EventLoop final : public TimeSource {
 public:
  EventLoop();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* raw() { return &loop_; }
  // Runs until stop() or until no handle is active.
  void run();
  void stop();
  // Inside an I/O callback (see CallbackClock): the moment that callback started. Everything one
  // read batch does happens within microseconds, and a transaction reads the clock twice instead
  // of at every step that times something.
  TimePoint now() const override { return frozen_ ? frozen_at_ : Clock::now(); }

  // Held for the length of one I/O callback: now() answers one reading of the clock. Nested
  // callbacks keep the outermost reading.
  class CallbackClock {
   public:
    explicit CallbackClock(EventLoop& loop) : loop_(loop.frozen_ ? nullptr : &loop) {
      if (loop_) {
        loop_->frozen_at_ = Clock::now();
        loop_->frozen_ = true;
      }
    }
    ~CallbackClock() {
      if (loop_) loop_->frozen_ = false;
    }
    CallbackClock(const CallbackClock&) = delete;
    CallbackClock& operator=(const CallbackClock&) = delete;

   private:
    EventLoop* loop_;
  };

  // Runs fn on the next loop iteration, outside any callback currently on the stack: the safe
  // place to destroy objects whose callbacks are running now.
  void defer(std::function<void()> fn);
  // Read buffers shared by this loop's connections.
  BufferPool& buffers() { return buffers_; }
  // Output buffers for the relay (see scratch_pool.h).
  ScratchPool& scratch() { return scratch_; }
  // Frees the OpenSSL buffers of this loop's quiet TLS connections.
  TlsBufferSweeper& tls_buffers() { return *tls_buffers_; }

 private:
  void run_deferred();

  uv_loop_t loop_{};
  UvHandle<uv_idle_t> idle_;
  std::vector<std::function<void()>> deferred_;
  BufferPool buffers_;
  ScratchPool scratch_;
  std::unique_ptr<TlsBufferSweeper> tls_buffers_;  // made once the loop is initialised
  bool frozen_ = false;
  TimePoint frozen_at_{};
};

}  // namespace ouroboros::io
