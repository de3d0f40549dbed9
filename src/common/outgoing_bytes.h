#pragma once
// Output to one peer gathered over one read batch. Relayed messages usually lie back to back in
// the input buffer they were read into: as long as they do, they are kept as one view of that
// buffer and sent from there (Transport::send copies only what the socket does not take). The
// first byte that is not such a continuation (a message the proxy writes itself, a message
// after one it dropped) moves everything into the scratch buffer, which takes the rest.
// The viewed input must stay put until the bytes are sent and clear()ed: send before the input is
// compacted or refilled, and before anything that may close the connection owning it.
#include "common/bytes.h"

namespace ouroboros {

class OutgoingBytes {
 public:
  explicit OutgoingBytes(Bytes& scratch) : scratch_(scratch) { scratch_.clear(); }

  // Bytes that stay valid until clear(): joined to the view when they continue it.
  void relay(ByteView bytes) {
    if (bytes.empty()) return;
    if (scratch_.empty() && !copy_all_) {
      if (view_.empty()) {
        view_ = bytes;
        return;
      }
      if (view_.data() + view_.size() == bytes.data()) {
        view_ = ByteView(view_.data(), view_.size() + bytes.size());
        return;
      }
    }
    append(copied(), bytes);
  }
  // The buffer to write into directly (a message the proxy composes): what was viewed so far is
  // copied in first, so the order holds.
  Bytes& copied() {
    if (!view_.empty()) {
      scratch_.insert(scratch_.end(), view_.begin(), view_.end());
      view_ = {};
    }
    return scratch_;
  }
  // From now on relay() copies too: for bytes that may not outlive the next step.
  void copy_everything() { copy_all_ = true; }
  bool empty() const { return view_.empty() && scratch_.empty(); }
  std::size_t size() const { return view_.size() + scratch_.size(); }
  // Everything gathered, in order; valid until the next call on this object.
  ByteView bytes() const { return scratch_.empty() ? view_ : ByteView(scratch_); }
  void clear() {
    view_ = {};
    scratch_.clear();
  }

 private:
  Bytes& scratch_;
  ByteView view_;
  bool copy_all_ = false;
};

}  // namespace ouroboros
