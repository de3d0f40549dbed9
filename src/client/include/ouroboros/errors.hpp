// The exception tree. Every exception the library throws derives from ouroboros::Error.
//
//   Error
//   ├── UsageError               the program asked for something impossible (bad options, no such
//   column) ├── ConversionError          a value could not be converted to / from the requested C++
//   type │   └── UnexpectedNull       NULL read into a type that cannot hold it ├── PoolTimeout no
//   pooled connection became free in time └── DatabaseError            anything the server (or the
//   connection to it) reported; has a SQLSTATE
//       ├── IntegrityError (23xxx): ConflictError, ForeignKeyError, NotNullError, CheckError,
//       ExclusionError ├── TransactionRollback (40xxx): DeadlockError, SerializationError ├──
//       DataError (22xxx) ├── SyntaxError (42601), UndefinedTable (42P01), UndefinedColumn (42703),
//       │   UndefinedFunction (42883), PermissionDenied (42501)
//       ├── TransactionStateError (25xxx), e.g. a write in a READ ONLY transaction (25006)
//       ├── QueryCanceled (57014)
//       ├── ConnectionError (08xxx, 57P01-57P03, 53300, or the socket simply went away)
//       ├── AuthenticationError (28xxx, and permanent start-up refusals)
//       └── InDoubtError         the connection was lost during COMMIT: the outcome is unknown
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ouroboros {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class UsageError : public Error {
 public:
  using Error::Error;
};

class ConversionError : public Error {
 public:
  using Error::Error;
};

class UnexpectedNull : public ConversionError {
 public:
  using ConversionError::ConversionError;
};

class PoolTimeout : public Error {
 public:
  using Error::Error;
};

// Everything PostgreSQL says about an error (ErrorResponse fields), plus the statement that failed.
struct ErrorReport {
  std::string sqlstate;  // five characters; synthesized ("08006") for client-side connection loss
  std::string severity;  // ERROR, FATAL, PANIC (not localized)
  std::string message;
  std::string detail;
  std::string hint;
  std::string schema;
  std::string table;
  std::string column;
  std::string constraint;
  std::string datatype;
  std::string query;
  std::optional<int> position;  // 1-based character position in query, when the server gave one
};

class DatabaseError : public Error {
 public:
  explicit DatabaseError(ErrorReport report);

  const ErrorReport& report() const noexcept { return *report_; }
  const std::string& sqlstate() const noexcept { return report_->sqlstate; }
  const std::string& severity() const noexcept { return report_->severity; }
  const std::string& message() const noexcept { return report_->message; }
  const std::string& detail() const noexcept { return report_->detail; }
  const std::string& hint() const noexcept { return report_->hint; }
  const std::string& schema() const noexcept { return report_->schema; }
  const std::string& table() const noexcept { return report_->table; }
  const std::string& column() const noexcept { return report_->column; }
  const std::string& constraint() const noexcept { return report_->constraint; }
  const std::string& query() const noexcept { return report_->query; }

  // True when running the same work again may succeed: serialization failures, deadlocks and
  // lost connections. Never true for InDoubtError.
  virtual bool is_transient() const noexcept { return false; }

 private:
  std::shared_ptr<const ErrorReport> report_;  // shared: exceptions must copy without throwing
};

#define OUROBOROS_DECLARE_ERROR(Name, Base) \
  class Name : public Base {                \
   public:                                  \
    using Base::Base;                       \
  }

OUROBOROS_DECLARE_ERROR(IntegrityError, DatabaseError);
OUROBOROS_DECLARE_ERROR(ConflictError, IntegrityError);         // 23505 unique_violation
OUROBOROS_DECLARE_ERROR(ForeignKeyError, IntegrityError);       // 23503 foreign_key_violation
OUROBOROS_DECLARE_ERROR(NotNullError, IntegrityError);          // 23502 not_null_violation
OUROBOROS_DECLARE_ERROR(CheckError, IntegrityError);            // 23514 check_violation
OUROBOROS_DECLARE_ERROR(ExclusionError, IntegrityError);        // 23P01 exclusion_violation
OUROBOROS_DECLARE_ERROR(DataError, DatabaseError);              // 22xxx data_exception
OUROBOROS_DECLARE_ERROR(SyntaxError, DatabaseError);            // 42601 syntax_error
OUROBOROS_DECLARE_ERROR(UndefinedTable, DatabaseError);         // 42P01
OUROBOROS_DECLARE_ERROR(UndefinedColumn, DatabaseError);        // 42703
OUROBOROS_DECLARE_ERROR(UndefinedFunction, DatabaseError);      // 42883
OUROBOROS_DECLARE_ERROR(PermissionDenied, DatabaseError);       // 42501 insufficient_privilege
OUROBOROS_DECLARE_ERROR(TransactionStateError, DatabaseError);  // 25xxx
OUROBOROS_DECLARE_ERROR(QueryCanceled, DatabaseError);          // 57014
OUROBOROS_DECLARE_ERROR(AuthenticationError, DatabaseError);    // 28xxx
OUROBOROS_DECLARE_ERROR(InDoubtError, DatabaseError);           // lost connection during COMMIT

#undef OUROBOROS_DECLARE_ERROR

class TransactionRollback : public DatabaseError {  // 40xxx
 public:
  using DatabaseError::DatabaseError;
};

class DeadlockError : public TransactionRollback {  // 40P01 deadlock_detected
 public:
  using TransactionRollback::TransactionRollback;
  bool is_transient() const noexcept override { return true; }
};

class SerializationError : public TransactionRollback {  // 40001 serialization_failure
 public:
  using TransactionRollback::TransactionRollback;
  bool is_transient() const noexcept override { return true; }
};

class ConnectionError : public DatabaseError {  // 08xxx, 57P01-57P03, 53300
 public:
  using DatabaseError::DatabaseError;
  bool is_transient() const noexcept override { return true; }
};

// The name of the DatabaseError subclass throw_database_error uses for sqlstate, e.g.
// "ConflictError" for 23505, "DatabaseError" for a state without a class of its own.
std::string_view error_class_name(std::string_view sqlstate) noexcept;

// Throws the DatabaseError subclass that matches report.sqlstate.
[[noreturn]] void throw_database_error(ErrorReport report);

}  // namespace ouroboros
