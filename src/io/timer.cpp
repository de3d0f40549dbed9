#include "io/timer.h"

namespace ouroboros::io {

namespace {
void fire(uv_timer_t* t) {
  if (auto* self = UvHandle<uv_timer_t>::owner_of<std::function<void()>>(t)) {
    auto fn = *self;  // the callback may restart or destroy its timer
    fn();
  }
}
}  // namespace

Timer::Timer(EventLoop& loop) : handle_(&fn_) {
  uv_timer_init(loop.raw(), handle_.get());
  handle_.mark_initialized();
}

void Timer::start(Duration after, std::function<void()> fn) {
  fn_ = std::move(fn);
  uv_timer_start(handle_.get(), fire, static_cast<std::uint64_t>(std::max<Duration::rep>(0, after.count())), 0);
}

void Timer::start_repeating(Duration every, std::function<void()> fn) {
  fn_ = std::move(fn);
  auto ms = static_cast<std::uint64_t>(std::max<Duration::rep>(1, every.count()));
  uv_timer_start(handle_.get(), fire, ms, ms);
}

void Timer::stop() { uv_timer_stop(handle_.get()); }

bool Timer::active() const {
  return handle_.open() && uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_.get())) != 0;
}

}  // namespace ouroboros::io
