#include "sql/session_statement.h"

#include <optional>

#include "common/fnv1a.h"
#include "sql/session_parse_tree.h"
#include "sql/session_precheck.h"

namespace ouroboros::sql {

std::uint64_t text_hash(std::string_view text) { return fnv1a(text); }

SessionStatementClassifier::SessionStatementClassifier(std::size_t capacity)
    : capacity_(capacity == 0 ? 1 : capacity) {}

bool SessionStatementClassifier::may_change_session_state(std::string_view text) {
  if (leaves_session_alone_at_a_glance(text)) return false;
  return !classify_without_parser(text).has_value();
}

bool SessionStatementClassifier::may_change_session_state(std::string_view text, std::uint64_t shape_key) {
  if (!shape_answers_) shape_answers_ = std::make_unique<std::array<ShapeAnswer, kShapeSlots>>();
  ShapeAnswer& slot = (*shape_answers_)[shape_key % kShapeSlots];
  if (slot.answer != 0 && slot.key == shape_key) return slot.answer == 2;
  const bool may_change = may_change_session_state(text);
  slot = ShapeAnswer{shape_key, static_cast<std::uint8_t>(may_change ? 2 : 1)};
  return may_change;
}

Classification SessionStatementClassifier::classify(std::string_view text) {
  if (std::optional<Classification> simple = classify_without_parser(text)) return *simple;
  if (text.size() > kMaxCachedText) return parse(text);
  const std::uint64_t hash = text_hash(text);
  if (auto found = index_.find(hash); found != index_.end()) {
    if (found->second->text == text) {
      entries_.splice(entries_.begin(), entries_, found->second);
      return found->second->result;
    }
    // Another text with the same hash: the newer one takes the slot.
    entries_.erase(found->second);
    index_.erase(found);
  }
  Classification result = parse(text);
  entries_.push_front(Entry{hash, std::string(text), result});
  index_[hash] = entries_.begin();
  if (entries_.size() > capacity_) {
    index_.erase(entries_.back().hash);
    entries_.pop_back();
  }
  return result;
}

Classification SessionStatementClassifier::parse(std::string_view text) {
  ++parser_calls_;
  return parse_session_effects(text);
}

}  // namespace ouroboros::sql
