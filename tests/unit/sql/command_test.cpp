#include "sql/command.h"

#include <doctest/doctest.h>

#include <string>

using namespace ouroboros::sql;

namespace {
Command cmd(CommandKind kind, std::string name = {}) {
  return Command{kind, std::move(name)};
}
}  // namespace

TEST_CASE("classify: prepared statement commands") {
  CHECK(classify("PREPARE q1 AS SELECT 1") == cmd(CommandKind::Prepare, "q1"));
  CHECK(classify("prepare Q1 (int, text) as select $1, $2;") == cmd(CommandKind::Prepare, "q1"));
  CHECK(classify("PREPARE \"MyStmt\" (numeric(10, 2)) AS SELECT $1") ==
        cmd(CommandKind::Prepare, "MyStmt"));
  CHECK(classify("EXECUTE q1") == cmd(CommandKind::Execute, "q1"));
  CHECK(classify("execute Q1(1, 'a');") == cmd(CommandKind::Execute, "q1"));
  CHECK(classify("EXECUTE \"a;b\"") == cmd(CommandKind::Execute, "a;b"));
  CHECK(classify("DEALLOCATE q1") == cmd(CommandKind::Deallocate, "q1"));
  CHECK(classify("DeAlLoCaTe PREPARE Q1;") == cmd(CommandKind::Deallocate, "q1"));
  CHECK(classify("DEALLOCATE \"Say \"\"hi\"\"\"") == cmd(CommandKind::Deallocate, "Say \"hi\""));
  CHECK(classify("DEALLOCATE prepare") == cmd(CommandKind::Deallocate, "prepare"));
  CHECK(classify("DEALLOCATE ALL") == cmd(CommandKind::DeallocateAll));
  CHECK(classify("deallocate prepare all ;") == cmd(CommandKind::DeallocateAll));
  CHECK(classify("DEALLOCATE \"all\"") == cmd(CommandKind::Deallocate, "all"));
  CHECK(classify("DISCARD ALL") == cmd(CommandKind::DiscardAll));
  CHECK(classify("  /* pool */ -- reset\n discard all;") == cmd(CommandKind::DiscardAll));
}

TEST_CASE("classify: names are cut to 63 bytes like PostgreSQL identifiers") {
  const std::string long_name(70, 'A');
  CHECK(classify("DEALLOCATE " + long_name) == cmd(CommandKind::Deallocate, std::string(63, 'a')));
  // A multibyte character straddling the limit is dropped whole.
  const std::string name = std::string(62, 'x') + "é";
  CHECK(classify("EXECUTE " + name) == cmd(CommandKind::Execute, std::string(62, 'x')));
}

TEST_CASE("classify: transaction control") {
  CHECK(classify("BEGIN").kind == CommandKind::Begin);
  CHECK(classify("begin isolation level serializable;").kind == CommandKind::Begin);
  CHECK(classify("START TRANSACTION READ ONLY").kind == CommandKind::Begin);
  CHECK(classify("COMMIT").kind == CommandKind::Commit);
  CHECK(classify("end work").kind == CommandKind::Commit);
  CHECK(classify("COMMIT AND CHAIN").kind == CommandKind::Commit);
  CHECK(classify("ROLLBACK TRANSACTION").kind == CommandKind::Rollback);
  CHECK(classify("abort").kind == CommandKind::Rollback);
  CHECK(classify("ROLLBACK TO SAVEPOINT s").kind == CommandKind::Other);
  CHECK(classify("ROLLBACK WORK TO s").kind == CommandKind::Other);
  CHECK(classify("COMMIT PREPARED 'gid'").kind == CommandKind::Other);
  CHECK(classify("START foo").kind == CommandKind::Other);
}

TEST_CASE("classify: everything else is Other") {
  for (const char* sql : {
           "",
           ";",
           "-- nothing",
           "SELECT 1",
           "PREPARE TRANSACTION 'gid'",
           "PREPARE q1",
           "PREPARE q1 AS",
           "PREPARE q1 (int AS SELECT 1",
           "PREPARE 'q1' AS SELECT 1",
           "EXECUTE",
           "EXECUTE q1 q2",
           "DEALLOCATE",
           "DEALLOCATE a b",
           "DEALLOCATE \"\"",
           "DEALLOCATE \"open",
           "DEALLOCATE U&\"q\"",
           "DISCARD PLANS",
           "DISCARD ALL x",
           "'DEALLOCATE ALL'",
           "\"deallocate\" all",
           "CREATE TABLE t AS EXECUTE q1",
       }) {
    CAPTURE(sql);
    CHECK(classify(sql) == Command{});
  }
}

TEST_CASE("classify: the first-word look before the lexer decides nothing the lexer would not") {
  // Words that only begin like a command word, or go on as an identifier, are Other.
  for (const char* sql : {"SELECT 1", "deallocated x", "begins", "end_of_day", "commit$x", "abortive",
                          "insert into t values (1)", "x"}) {
    CAPTURE(sql);
    CHECK(classify(sql) == Command{});
  }
  // Blanks, comments and mixed case before a command word still reach the lexer.
  CHECK(classify(" \t\r\n\fBeGiN").kind == CommandKind::Begin);
  CHECK(classify("/* c */ DEALLOCATE q1").kind == CommandKind::Deallocate);
  CHECK(classify("-- c\nCOMMIT").kind == CommandKind::Commit);
  CHECK(classify("Rollback;").kind == CommandKind::Rollback);
  CHECK(classify("execute q1(1)").kind == CommandKind::Execute);
}

TEST_CASE("classify: only the first statement counts") {
  CHECK(classify("DEALLOCATE a; SELECT 1") == cmd(CommandKind::Deallocate, "a"));
  CHECK(classify("SELECT 1; DISCARD ALL").kind == CommandKind::Other);
}
