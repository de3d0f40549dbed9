// DatabaseError construction and SQLSTATE classification.
#include "ouroboros/errors.hpp"

#include <string_view>

namespace ouroboros {
namespace {

std::string describe(const ErrorReport& r) {
  std::string text = r.message.empty() ? std::string("unknown database error") : r.message;
  if (!r.sqlstate.empty()) text += " [SQLSTATE " + r.sqlstate + "]";
  if (!r.detail.empty()) text += "\nDETAIL: " + r.detail;
  if (!r.hint.empty()) text += "\nHINT: " + r.hint;
  if (!r.query.empty()) text += "\nQUERY: " + r.query;
  return text;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

DatabaseError::DatabaseError(ErrorReport report)
    : Error(describe(report)), report_(std::make_shared<const ErrorReport>(std::move(report))) {}

std::string_view error_class_name(std::string_view state) noexcept {
  if (state == "23505") return "ConflictError";
  if (state == "23503") return "ForeignKeyError";
  if (state == "23502") return "NotNullError";
  if (state == "23514") return "CheckError";
  if (state == "23P01") return "ExclusionError";
  if (starts_with(state, "23")) return "IntegrityError";
  if (state == "40P01") return "DeadlockError";
  if (state == "40001") return "SerializationError";
  if (starts_with(state, "40")) return "TransactionRollback";
  if (starts_with(state, "22")) return "DataError";
  if (state == "42601") return "SyntaxError";
  if (state == "42P01") return "UndefinedTable";
  if (state == "42703") return "UndefinedColumn";
  if (state == "42883") return "UndefinedFunction";
  if (state == "42501") return "PermissionDenied";
  if (starts_with(state, "25")) return "TransactionStateError";
  if (state == "57014") return "QueryCanceled";
  if (starts_with(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" ||
      state == "53300")
    return "ConnectionError";
  if (starts_with(state, "28")) return "AuthenticationError";
  return "DatabaseError";
}

void throw_database_error(ErrorReport report) {
  const std::string state = report.sqlstate;
  if (state == "23505") throw ConflictError(std::move(report));
  if (state == "23503") throw ForeignKeyError(std::move(report));
  if (state == "23502") throw NotNullError(std::move(report));
  if (state == "23514") throw CheckError(std::move(report));
  if (state == "23P01") throw ExclusionError(std::move(report));
  if (starts_with(state, "23")) throw IntegrityError(std::move(report));
  if (state == "40P01") throw DeadlockError(std::move(report));
  if (state == "40001") throw SerializationError(std::move(report));
  if (starts_with(state, "40")) throw TransactionRollback(std::move(report));
  if (starts_with(state, "22")) throw DataError(std::move(report));
  if (state == "42601") throw SyntaxError(std::move(report));
  if (state == "42P01") throw UndefinedTable(std::move(report));
  if (state == "42703") throw UndefinedColumn(std::move(report));
  if (state == "42883") throw UndefinedFunction(std::move(report));
  if (state == "42501") throw PermissionDenied(std::move(report));
  if (starts_with(state, "25")) throw TransactionStateError(std::move(report));
  if (state == "57014") throw QueryCanceled(std::move(report));
  if (starts_with(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" ||
      state == "53300")
    throw ConnectionError(std::move(report));
  if (starts_with(state, "28")) throw AuthenticationError(std::move(report));
  throw DatabaseError(std::move(report));
}

}  // namespace ouroboros
