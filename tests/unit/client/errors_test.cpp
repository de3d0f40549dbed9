#include "ouroboros/errors.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros;

namespace {
ErrorReport report(std::string sqlstate) {
  ErrorReport r;
  r.sqlstate = std::move(sqlstate);
  r.severity = "ERROR";
  r.message = "something failed";
  r.detail = "the detail";
  r.hint = "the hint";
  r.constraint = "the_constraint";
  r.table = "the_table";
  r.column = "the_column";
  r.query = "SELECT 1";
  return r;
}

template <class Expected>
void check_class(const std::string& sqlstate, bool transient) {
  CAPTURE(sqlstate);
  try {
    throw_database_error(report(sqlstate));
  } catch (const Expected& e) {
    CHECK(e.sqlstate() == sqlstate);
    CHECK(e.is_transient() == transient);
    return;
  } catch (const std::exception& e) {
    FAIL("wrong class: " << typeid(e).name());
  }
}
}  // namespace

TEST_CASE("SQLSTATEs map to their classes") {
  check_class<ConflictError>("23505", false);
  check_class<ForeignKeyError>("23503", false);
  check_class<NotNullError>("23502", false);
  check_class<CheckError>("23514", false);
  check_class<ExclusionError>("23P01", false);
  check_class<IntegrityError>("23000", false);
  check_class<DeadlockError>("40P01", true);
  check_class<SerializationError>("40001", true);
  check_class<TransactionRollback>("40002", false);
  check_class<DataError>("22012", false);
  check_class<DataError>("22P02", false);
  check_class<SyntaxError>("42601", false);
  check_class<UndefinedTable>("42P01", false);
  check_class<UndefinedColumn>("42703", false);
  check_class<UndefinedFunction>("42883", false);
  check_class<PermissionDenied>("42501", false);
  check_class<TransactionStateError>("25006", false);
  check_class<QueryCanceled>("57014", false);
  check_class<ConnectionError>("08006", true);
  check_class<ConnectionError>("08001", true);
  check_class<ConnectionError>("57P01", true);
  check_class<ConnectionError>("57P02", true);
  check_class<ConnectionError>("57P03", true);
  check_class<ConnectionError>("53300", true);
  check_class<AuthenticationError>("28P01", false);
  check_class<DatabaseError>("XX000", false);
}

TEST_CASE("the class hierarchy lets callers catch broadly") {
  CHECK_THROWS_AS(throw_database_error(report("23505")), IntegrityError);
  CHECK_THROWS_AS(throw_database_error(report("40P01")), TransactionRollback);
  CHECK_THROWS_AS(throw_database_error(report("42P01")), DatabaseError);
  CHECK_THROWS_AS(throw_database_error(report("42P01")), Error);
  CHECK_THROWS_AS(throw_database_error(report("42P01")), std::runtime_error);
  InDoubtError in_doubt(report("08006"));
  CHECK_FALSE(in_doubt.is_transient());
  static_assert(!std::is_base_of_v<ConnectionError, InDoubtError>);  // never caught as retryable
}

TEST_CASE("a DatabaseError carries every field and says them in what()") {
  try {
    throw_database_error(report("23505"));
  } catch (const DatabaseError& e) {
    CHECK(e.severity() == "ERROR");
    CHECK(e.message() == "something failed");
    CHECK(e.detail() == "the detail");
    CHECK(e.hint() == "the hint");
    CHECK(e.constraint() == "the_constraint");
    CHECK(e.table() == "the_table");
    CHECK(e.column() == "the_column");
    CHECK(e.query() == "SELECT 1");
    const std::string what = e.what();
    CHECK(what.find("something failed") != std::string::npos);
    CHECK(what.find("23505") != std::string::npos);
    CHECK(what.find("DETAIL: the detail") != std::string::npos);
    CHECK(what.find("QUERY: SELECT 1") != std::string::npos);
    DatabaseError copy = e;  // copies share the report
    CHECK(&copy.report() == &e.report());
  }
}
