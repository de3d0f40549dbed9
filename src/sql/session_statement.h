#pragma once
// What a query string does to the backend session's state (settings, prepared statements,
// LISTEN, temporary objects, advisory locks, cursors, LOAD, transaction control), read by
// PostgreSQL's own parser (libpg_query). Statements that cannot change session state are
// answered from their first words without parsing; parsed results are kept in a bounded LRU keyed
// by a 64-bit hash of the text, so each distinct text is parsed at most once while it stays in
// the cache. One classifier per event loop (not thread-safe). Returns values, never throws.
#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sql/session_effect.h"

namespace ouroboros::sql {

class SessionStatementClassifier {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;
  // Longer texts are parsed every time instead of being kept (a bulk INSERT never fills the cache).
  static constexpr std::size_t kMaxCachedText = 16 * 1024;

  explicit SessionStatementClassifier(std::size_t capacity = kDefaultCapacity);

  // One entry per statement PostgreSQL would run, in order.
  Classification classify(std::string_view text);

  // The cheap pre-check alone: false when `text` certainly leaves session state alone (and
  // classify() would not parse it).
  static bool may_change_session_state(std::string_view text);
  // The same answer, remembered by the text's sql::query_shape key (`shape_key`): texts of one
  // shape differ only in literals, and no literal makes a statement change session state (a
  // call, INTO TEMP, a lock are all in the words), so the per-query cost is one lookup. A text
  // that is not of a remembered shape costs the pre-check once. Two texts of different shapes
  // with one 64-bit key would share an answer; not guarded against (like the statistics).
  bool may_change_session_state(std::string_view text, std::uint64_t shape_key);

  std::size_t parser_calls() const { return parser_calls_; }
  std::size_t cache_size() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t hash;
    std::string text;
    Classification result;
  };

  Classification parse(std::string_view text);

  std::size_t capacity_;
  std::list<Entry> entries_;  // most recently used first
  std::unordered_map<std::uint64_t, std::list<Entry>::iterator> index_;
  std::size_t parser_calls_ = 0;
  // may_change_session_state by shape key: direct-mapped, an older shape in the slot is replaced.
  struct ShapeAnswer {
    std::uint64_t key = 0;
    std::uint8_t answer = 0;  // 0: empty slot, 1: leaves session state alone, 2: may change it
  };
  static constexpr std::size_t kShapeSlots = 1024;
  std::unique_ptr<std::array<ShapeAnswer, kShapeSlots>> shape_answers_;  // made at first use
};

// FNV-1a, 64 bits: the cache key (a hit is confirmed by comparing the text).
std::uint64_t text_hash(std::string_view text);

}  // namespace ouroboros::sql
