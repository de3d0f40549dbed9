#include "io/tls_buffer_sweeper.h"

namespace ouroboros::io {

TlsBufferSweeper::TlsBufferSweeper(uv_loop_t* loop) : timer_(this) {
  uv_timer_init(loop, timer_.get());
  timer_.mark_initialized();
  uv_unref(timer_.as_handle());  // never what keeps the loop running
}

void TlsBufferSweeper::add(SSL* ssl, std::size_t& slot) {
  slot = entries_.size();
  entries_.push_back({ssl, &slot, true});
  if (entries_.size() == 1) {
    uv_timer_start(
        timer_.get(),
        [](uv_timer_t* t) {
          if (auto* self = UvHandle<uv_timer_t>::owner_of<TlsBufferSweeper>(t)) self->sweep();
        },
        kIntervalMs, kIntervalMs);
  }
}

void TlsBufferSweeper::forget(std::size_t& slot) {
  if (slot == kNotListed) return;
  remove(slot);
  slot = kNotListed;
}

void TlsBufferSweeper::remove(std::size_t index) {
  *entries_[index].slot = kNotListed;
  if (index + 1 != entries_.size()) {
    entries_[index] = entries_.back();
    *entries_[index].slot = index;
  }
  entries_.pop_back();
  if (entries_.empty() && timer_.open()) uv_timer_stop(timer_.get());
}

void TlsBufferSweeper::sweep() {
  for (std::size_t i = entries_.size(); i-- > 0;) {
    Entry& entry = entries_[i];
    if (entry.used) {
      entry.used = false;
      continue;
    }
    // Fails while a record is half read (or written): then the next sweep tries again.
    if (SSL_free_buffers(entry.ssl) == 1) remove(i);
  }
}

}  // namespace ouroboros::io
