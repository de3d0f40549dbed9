#pragma once
// Feeds a Query's statements to a session tracker as the server would report them: every
// statement before `failing_statement` completes, that one fails (and nothing after it runs),
// then ReadyForQuery with `status`.
#include <cstddef>
#include <limits>
#include <string_view>

#include "sql/session_statement.h"

namespace ouroboros::session::test {

constexpr std::size_t kNoFailure = std::numeric_limits<std::size_t>::max();

template <typename Tracker>
void query(Tracker& tracker, std::string_view sql, char status,
           std::size_t failing_statement = kNoFailure) {
  static sql::SessionStatementClassifier classifier;
  const sql::Classification result = classifier.classify(sql);
  for (std::size_t i = 0; i < result.statements.size(); ++i) {
    const bool ok = i != failing_statement;
    tracker.on_statement(result.statements[i], ok);
    if (!ok) break;
  }
  tracker.on_ready_for_query(status);
}

}  // namespace ouroboros::session::test
