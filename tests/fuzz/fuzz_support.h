#pragma once
// Small helpers shared by the libFuzzer targets.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ouroboros::fuzz {

// A broken invariant traps, so libFuzzer records the input as a crash.
inline void require(bool condition) {
  if (!condition) __builtin_trap();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Cuts an input into records: a tag byte, a 16-bit big-endian length, then that many bytes (a
// short last record takes what is left). Seed generators write inputs in this shape.
class Records {
 public:
  explicit Records(std::string_view input) : rest_(input) {}

  struct Record {
    std::uint8_t tag = 0;
    std::string_view bytes;
  };

  bool next(Record& record) {
    if (rest_.size() < 3) return false;
    record.tag = static_cast<std::uint8_t>(rest_[0]);
    const std::size_t length = static_cast<std::size_t>(static_cast<std::uint8_t>(rest_[1])) << 8 |
                               static_cast<std::uint8_t>(rest_[2]);
    rest_.remove_prefix(3);
    record.bytes = rest_.substr(0, length);
    rest_.remove_prefix(record.bytes.size());
    return true;
  }

 private:
  std::string_view rest_;
};

}  // namespace ouroboros::fuzz
