#pragma once
// Ownership of one libuv handle. uv_close() is asynchronous, so the memory libuv writes to must
// outlive the C++ owner: the handle lives in a heap box that the close callback frees. The owner
// can be destroyed at any time; callbacks arriving after that find no owner and do nothing.
#include <uv.h>

#include <utility>

namespace ouroboros::io {

template <class UvType>
class UvHandle {
 public:
  explicit UvHandle(void* owner) : box_(new Box{}) {
    box_->owner = owner;
    box_->handle.data = box_;
  }
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;

  UvType* get() { return &box_->handle; }
  const UvType* get() const { return &box_->handle; }
  uv_handle_t* as_handle() { return reinterpret_cast<uv_handle_t*>(&box_->handle); }
  uv_stream_t* as_stream() { return reinterpret_cast<uv_stream_t*>(&box_->handle); }
  // Call after a successful uv_*_init: from then on the handle must be closed through libuv.
  void mark_initialized() { box_->initialized = true; }
  bool open() const { return box_ != nullptr; }

  // Detaches the owner and starts closing. Idempotent.
  void close() {
    if (!box_) return;
    Box* box = std::exchange(box_, nullptr);
    box->owner = nullptr;
    if (!box->initialized) {
      delete box;
      return;
    }
    close_raw(reinterpret_cast<uv_handle_t*>(&box->handle));
  }

  // Gives up ownership without closing: whoever holds the raw handle must finish with
  // close_raw() (used when a pending uv_shutdown closes the handle once writes are flushed).
  UvType* release() {
    if (!box_) return nullptr;
    Box* box = std::exchange(box_, nullptr);
    box->owner = nullptr;
    return &box->handle;
  }
  static void close_raw(uv_handle_t* handle) {
    // Already closing only when the loop itself is being torn down (EventLoop's destructor);
    // the box is then left to process exit.
    if (uv_is_closing(handle)) return;
    uv_close(handle, [](uv_handle_t* h) { delete static_cast<Box*>(h->data); });
  }

  // The owner registered for a handle, or nullptr once it detached.
  template <class Owner>
  static Owner* owner_of(const void* uv_object_with_data) {
    auto* box = static_cast<Box*>(static_cast<const UvType*>(uv_object_with_data)->data);
    return static_cast<Owner*>(box->owner);
  }
  // For requests (uv_write_t, uv_connect_t) that point back at the handle.
  template <class Owner>
  static Owner* owner_of_handle(const uv_handle_t* handle) {
    return static_cast<Owner*>(static_cast<Box*>(handle->data)->owner);
  }

 private:
  struct Box {
    UvType handle{};
    void* owner = nullptr;
    bool initialized = false;
  };
  Box* box_;
};

}  // namespace ouroboros::io
