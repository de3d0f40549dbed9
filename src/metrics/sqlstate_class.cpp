#include "metrics/sqlstate_class.h"

namespace ouroboros::metrics {

namespace {
// Label of each class, in enum order.
constexpr std::array<std::string_view, kSqlstateClassCount> kLabels = {
    "08", "22", "23", "25", "28", "40", "42", "53", "54", "55", "57", "58", "XX", "other"};
static_assert(static_cast<std::size_t>(SqlstateClass::kOther) + 1 == kSqlstateClassCount);

bool is_sqlstate_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}
}  // namespace

SqlstateClass sqlstate_class(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return SqlstateClass::kOther;
  for (char c : sqlstate)
    if (!is_sqlstate_char(c)) return SqlstateClass::kOther;
  std::string_view cls = sqlstate.substr(0, 2);
  for (std::size_t i = 0; i + 1 < kSqlstateClassCount; ++i)
    if (kLabels[i] == cls) return static_cast<SqlstateClass>(i);
  return SqlstateClass::kOther;
}

std::string_view sqlstate_class_label(SqlstateClass cls) {
  auto index = static_cast<std::size_t>(cls);
  return index < kSqlstateClassCount ? kLabels[index] : kLabels.back();
}

}  // namespace ouroboros::metrics
