#pragma once
// The `sqlstate_class` label: the two-character class of a SQLSTATE, limited to the classes worth
// telling apart on a dashboard, everything else is "other". Errors are counted in a fixed array
// indexed by class, so counting one never allocates or looks anything up by name.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metrics/counter.h"

namespace ouroboros::metrics {

enum class SqlstateClass : std::uint8_t {
  kConnectionException,           // 08
  kDataException,                 // 22
  kIntegrityConstraintViolation,  // 23
  kInvalidTransactionState,       // 25
  kInvalidAuthorization,          // 28
  kTransactionRollback,           // 40
  kSyntaxErrorOrAccessRule,       // 42
  kInsufficientResources,         // 53
  kProgramLimitExceeded,          // 54
  kObjectNotInPrerequisiteState,  // 55
  kOperatorIntervention,          // 57
  kSystemError,                   // 58
  kInternalError,                 // XX
  kOther,
};
inline constexpr std::size_t kSqlstateClassCount = 14;

// "23505" -> kIntegrityConstraintViolation; anything unlisted or malformed -> kOther.
SqlstateClass sqlstate_class(std::string_view sqlstate);
// The label value: "08" ... "XX", "other".
std::string_view sqlstate_class_label(SqlstateClass cls);

// One counter per class.
class SqlstateCounters {
 public:
  void inc(SqlstateClass cls, std::uint64_t n = 1) { at(cls).inc(n); }
  void inc(std::string_view sqlstate) { inc(sqlstate_class(sqlstate)); }
  Counter& at(SqlstateClass cls) { return counters_[static_cast<std::size_t>(cls)]; }
  const Counter& at(SqlstateClass cls) const { return counters_[static_cast<std::size_t>(cls)]; }

 private:
  std::array<Counter, kSqlstateClassCount> counters_;
};

}  // namespace ouroboros::metrics
