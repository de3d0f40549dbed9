#pragma once
// A first-in first-out queue on a vector: unlike std::deque it allocates nothing until the first
// push (an idle connection's empty queue costs no heap), and once emptied it reuses its storage.
#include <cstddef>
#include <utility>
#include <vector>

namespace ouroboros {

template <class T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& back() { return items_.back(); }
  // The items in order, front first (and in reverse).
  auto begin() { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const { return items_.end(); }
  auto rbegin() { return items_.rbegin(); }
  auto rend() { return items_.rend() - static_cast<std::ptrdiff_t>(head_); }
  void push_back(const T& item) { push_back(T(item)); }
  void push_back(T&& item) { emplace_back(std::move(item)); }
  // Constructs the new last item in its slot.
  template <class... Args>
  T& emplace_back(Args&&... args) {
    // A long pipeline that never drains would keep the taken slots: reclaim them now and then.
    if (head_ > 64 && head_ * 2 > items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return items_.emplace_back(std::forward<Args>(args)...);
  }
  // Removes the front item and returns it.
  T take_front() {
    T item = std::move(items_[head_]);
    if (++head_ == items_.size()) clear();
    return item;
  }
  // Removes the front item (what it holds is released now, not when the queue drains).
  void pop_front() {
    if (++head_ == items_.size()) clear();
    else items_[head_ - 1] = T();
  }
  // Removes the front item, leaving what it holds to be released when the queue drains (or its
  // slot is reclaimed): cheaper than pop_front() for items that seldom hold anything.
  void drop_front() {
    if (++head_ == items_.size()) clear();
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  std::size_t head_ = 0;
};

}  // namespace ouroboros
