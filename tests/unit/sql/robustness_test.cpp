#include <doctest/doctest.h>

#include <random>
#include <string>

#include "sql/command.h"
#include "sql/fingerprint.h"
#include "sql/lexer.h"
#include "sql/redact.h"
#include "sql/statement_splitter.h"
#include "sql/trace_context.h"

using namespace ouroboros::sql;

namespace {

// Inputs biased towards the bytes that drive the lexer's states, plus arbitrary bytes.
std::string random_sql(std::mt19937& rng) {
  static constexpr std::string_view interesting = "'\"$;/*-\\eEuUbBxXnN&_01 \n().,:=+<>tag?%";
  std::string sql(rng() % 64, '\0');
  for (char& c : sql) {
    c = rng() % 4 == 0 ? static_cast<char>(rng() % 256) : interesting[rng() % interesting.size()];
  }
  return sql;
}

}  // namespace

TEST_CASE("robustness: random input never crashes and tokens always tile it") {
  std::mt19937 rng(12345);
  for (int iteration = 0; iteration < 20000; ++iteration) {
    // Each input is its own heap allocation of exactly its size so ASan sees over-reads.
    const std::string sql = random_sql(rng);
    CAPTURE(sql);
    std::string joined;
    bool progress = true;
    for (const Token& t : tokenize(sql)) {
      progress = progress && !t.text.empty();
      joined += t.text;
    }
    REQUIRE(progress);
    REQUIRE(joined == sql);

    std::string statements;
    StatementSplitter splitter(sql);
    while (auto statement = splitter.next()) statements += statement->text;
    REQUIRE(statements == sql);

    const std::size_t count = count_statements(sql);
    CHECK(count <= sql.size());
    (void)fingerprint(sql);
    (void)classify(sql);
    (void)trace_context(sql);
    // Redaction only ever shortens literals to one character.
    CHECK(redact(sql).size() <= sql.size());
    CHECK(safe_for_log(sql, true).size() <= sql.size());
  }
}
