#pragma once
// OpenSSL's record buffers (about 17 KiB to read and as much to write) stay with a TLS connection
// while it is busy and are freed once it has been quiet for a whole sweep interval. Freeing them
// after every record (SSL_MODE_RELEASE_BUFFERS) costs two allocations per SSL_read/SSL_write;
// keeping them forever would cost 34 KiB per idle client. One sweeper per event loop.
#include <openssl/ssl.h>

#include <cstddef>
#include <vector>

#include "io/uv_handle.h"

namespace ouroboros::io {

class TlsBufferSweeper {
 public:
  static constexpr std::size_t kNotListed = static_cast<std::size_t>(-1);
  static constexpr unsigned kIntervalMs = 1000;

  explicit TlsBufferSweeper(uv_loop_t* loop);
  TlsBufferSweeper(const TlsBufferSweeper&) = delete;
  TlsBufferSweeper& operator=(const TlsBufferSweeper&) = delete;

  // `ssl` was just used (it may hold buffers now). `slot` is the caller's: kNotListed at first,
  // then kept up to date by the sweeper, and given back to forget() before `ssl` is freed.
  void used(SSL* ssl, std::size_t& slot) {
    if (slot == kNotListed)
      add(ssl, slot);
    else
      entries_[slot].used = true;
  }
  void forget(std::size_t& slot);
  // Frees the buffers of every connection not used since the previous sweep (the timer calls it).
  void sweep();
  std::size_t listed() const { return entries_.size(); }

 private:
  struct Entry {
    SSL* ssl;
    std::size_t* slot;
    bool used;
  };
  void add(SSL* ssl, std::size_t& slot);
  void remove(std::size_t index);

  std::vector<Entry> entries_;
  UvHandle<uv_timer_t> timer_;
};

}  // namespace ouroboros::io
