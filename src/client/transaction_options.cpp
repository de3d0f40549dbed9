// TransactionOptions: validation and rendering into BEGIN.
#include "ouroboros/transaction_options.hpp"

#include "ouroboros/errors.hpp"
#include "ouroboros/observer.hpp"

namespace ouroboros {

void TransactionOptions::validate() const {
  if (deferrable && !(isolation == Isolation::Serializable && read_only))
    throw UsageError(
        "TransactionOptions: deferrable is only meaningful for SERIALIZABLE READ ONLY transactions "
        "(set isolation = Isolation::Serializable and read_only = true, or drop deferrable)");
  TraceContext::parse(traceparent);  // UsageError when malformed
}

std::string TransactionOptions::begin_statement() const {
  validate();
  std::string sql = "BEGIN";
  const char* separator = " ";
  if (isolation) {
    sql += separator;
    switch (*isolation) {
      case Isolation::ReadCommitted:
        sql += "ISOLATION LEVEL READ COMMITTED";
        break;
      case Isolation::RepeatableRead:
        sql += "ISOLATION LEVEL REPEATABLE READ";
        break;
      case Isolation::Serializable:
        sql += "ISOLATION LEVEL SERIALIZABLE";
        break;
    }
    separator = ", ";
  }
  if (read_only) {
    sql += separator;
    sql += "READ ONLY";
    separator = ", ";
  }
  if (deferrable) {
    sql += separator;
    sql += "DEFERRABLE";
  }
  return sql;
}

}  // namespace ouroboros
