#include "ouroboros/transaction_options.hpp"

#include <doctest/doctest.h>

#include "ouroboros/errors.hpp"

using namespace ouroboros;

TEST_CASE("transaction options render into BEGIN") {
  CHECK(TransactionOptions{}.begin_statement() == "BEGIN");
  CHECK(TransactionOptions{Isolation::ReadCommitted}.begin_statement() ==
        "BEGIN ISOLATION LEVEL READ COMMITTED");
  CHECK(TransactionOptions{Isolation::RepeatableRead, true}.begin_statement() ==
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  CHECK(TransactionOptions{std::nullopt, true}.begin_statement() == "BEGIN READ ONLY");
  CHECK(TransactionOptions{Isolation::Serializable, true, true}.begin_statement() ==
        "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE");
  CHECK(TransactionOptions{Isolation::Serializable}.begin_statement() ==
        "BEGIN ISOLATION LEVEL SERIALIZABLE");
}

TEST_CASE("DEFERRABLE outside SERIALIZABLE READ ONLY is rejected") {
  CHECK_THROWS_AS(TransactionOptions({Isolation::Serializable, false, true}).validate(),
                  UsageError);
  CHECK_THROWS_AS(TransactionOptions({Isolation::RepeatableRead, true, true}).validate(),
                  UsageError);
  CHECK_THROWS_AS(TransactionOptions({std::nullopt, true, true}).begin_statement(), UsageError);
  CHECK_THROWS_AS(TransactionOptions({std::nullopt, false, true}).begin_statement(), UsageError);
  CHECK_NOTHROW(TransactionOptions({Isolation::Serializable, true, true}).validate());
}
