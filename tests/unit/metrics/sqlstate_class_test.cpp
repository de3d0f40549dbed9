#include "metrics/sqlstate_class.h"

#include <doctest/doctest.h>

using namespace ouroboros::metrics;

TEST_CASE("sqlstate class of the listed classes") {
  CHECK(sqlstate_class("08006") == SqlstateClass::kConnectionException);
  CHECK(sqlstate_class("22012") == SqlstateClass::kDataException);
  CHECK(sqlstate_class("23505") == SqlstateClass::kIntegrityConstraintViolation);
  CHECK(sqlstate_class("25P02") == SqlstateClass::kInvalidTransactionState);
  CHECK(sqlstate_class("28P01") == SqlstateClass::kInvalidAuthorization);
  CHECK(sqlstate_class("40001") == SqlstateClass::kTransactionRollback);
  CHECK(sqlstate_class("42P01") == SqlstateClass::kSyntaxErrorOrAccessRule);
  CHECK(sqlstate_class("53300") == SqlstateClass::kInsufficientResources);
  CHECK(sqlstate_class("54000") == SqlstateClass::kProgramLimitExceeded);
  CHECK(sqlstate_class("55P03") == SqlstateClass::kObjectNotInPrerequisiteState);
  CHECK(sqlstate_class("57014") == SqlstateClass::kOperatorIntervention);
  CHECK(sqlstate_class("58030") == SqlstateClass::kSystemError);
  CHECK(sqlstate_class("XX000") == SqlstateClass::kInternalError);
}

TEST_CASE("unlisted or malformed sqlstates are other") {
  for (const char* code : {"0A000", "P0001", "3D000", "", "2350", "235050", "xx000", "08 06",
                           "23\x01"
                           "05"})
    CHECK(sqlstate_class(code) == SqlstateClass::kOther);
}

TEST_CASE("sqlstate class labels") {
  CHECK(sqlstate_class_label(SqlstateClass::kConnectionException) == "08");
  CHECK(sqlstate_class_label(SqlstateClass::kInternalError) == "XX");
  CHECK(sqlstate_class_label(SqlstateClass::kOther) == "other");
  // Every listed label maps back to its class.
  for (std::size_t i = 0; i + 1 < kSqlstateClassCount; ++i) {
    auto cls = static_cast<SqlstateClass>(i);
    std::string code = std::string(sqlstate_class_label(cls)) + "000";
    CHECK(sqlstate_class(code) == cls);
  }
}

TEST_CASE("errors are counted per class") {
  SqlstateCounters errors;
  errors.inc("23505");
  errors.inc("23503");
  errors.inc("0A000");
  errors.inc(SqlstateClass::kInternalError, 3);
  CHECK(errors.at(SqlstateClass::kIntegrityConstraintViolation).value() == 2);
  CHECK(errors.at(SqlstateClass::kOther).value() == 1);
  CHECK(errors.at(SqlstateClass::kInternalError).value() == 3);
  CHECK(errors.at(SqlstateClass::kConnectionException).value() == 0);
}
