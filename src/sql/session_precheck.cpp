#include "sql/session_precheck.h"

#include <array>
#include <string>

#include "sql/command.h"
#include "sql/lexer.h"
#include "sql/statement_splitter.h"

namespace ouroboros::sql {

namespace {

// Statements that only read or write rows, and so leave the session alone unless they call a
// function that does or create a table with SELECT ... INTO.
constexpr std::array<std::string_view, 12> kRowStatements = {
    "select", "insert", "update", "delete", "with",    "values",
    "table",  "merge",  "copy",   "call",   "explain", "("};

// Whether the text mentions a word that any function call or SELECT INTO of interest must
// contain: set_config, advisory (locks), pg_notify, temp (INTO TEMP, pg_temp). One pass.
bool mentions_interesting_word(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string_view word;
    switch (to_lower_ascii(text[i])) {
      case 's':
        word = "set_config";
        break;
      case 'a':
        word = "advisory";
        break;
      case 'p':
        word = "pg_notify";
        break;
      case 't':
        word = "temp";
        break;
      default:
        continue;
    }
    if (text.size() - i >= word.size() && equals_ignore_case(text.substr(i, word.size()), word))
      return true;
  }
  return false;
}

// Statements whose grammar cannot touch session state at all.
constexpr std::array<std::string_view, 20> kHarmlessStatements = {
    "show",     "fetch",      "move",   "lock",     "vacuum",   "analyze", "analyse",
    "truncate", "grant",      "revoke", "comment",  "alter",    "refresh", "reindex",
    "cluster",  "checkpoint", "do",     "security", "reassign", "import"};

std::optional<Token> first_word(std::string_view statement) {
  Lexer lexer(statement);
  while (auto token = lexer.next()) {
    if (is_significant(*token)) return token;
  }
  return std::nullopt;
}

bool one_of(const Token& token, const auto& words) {
  for (std::string_view word : words) {
    if (word == "(" ? is_symbol(token, "(") : is_word(token, word)) return true;
  }
  return false;
}

// The statement's effects when its first words are enough, nullopt when the parser must look.
std::optional<ClassifiedStatement> classify_simply(std::string_view statement) {
  const std::optional<Token> first = first_word(statement);
  if (!first) return std::nullopt;
  std::string command;
  append_lower(command, first->text);
  for (char& c : command) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  if (one_of(*first, kRowStatements)) {
    if (mentions_interesting_word(statement)) return std::nullopt;
    return ClassifiedStatement{{}, command};
  }
  if (one_of(*first, kHarmlessStatements)) return ClassifiedStatement{{}, command};
  // BEGIN, COMMIT, ROLLBACK and their synonyms; ROLLBACK TO, COMMIT PREPARED and the rest of
  // the transaction statements go to the parser.
  switch (classify(statement).kind) {
    case CommandKind::Begin:
      return ClassifiedStatement{{{SessionEffectKind::Begin, "", ""}}, "BEGIN"};
    case CommandKind::Commit:
      if (contains_ignore_case(statement, "chain")) return std::nullopt;
      return ClassifiedStatement{{{SessionEffectKind::Commit, "", ""}}, "COMMIT"};
    case CommandKind::Rollback:
      if (contains_ignore_case(statement, "chain")) return std::nullopt;
      return ClassifiedStatement{{{SessionEffectKind::Rollback, "", ""}}, "ROLLBACK"};
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<Classification> classify_without_parser(std::string_view text) {
  // PostgreSQL reads a Query message up to its first NUL byte, and so does the parser.
  text = text.substr(0, text.find('\0'));
  Classification result;
  if (text.find(';') == std::string_view::npos) {
    // One statement (or none): no need to split.
    if (!first_word(text)) return result;  // only whitespace and comments
    std::optional<ClassifiedStatement> simple = classify_simply(text);
    if (!simple) return std::nullopt;
    result.statements.push_back(std::move(*simple));
    return result;
  }
  StatementSplitter splitter(text);
  while (const std::optional<Statement> statement = splitter.next()) {
    if (statement->empty) continue;
    std::optional<ClassifiedStatement> simple = classify_simply(statement->text);
    if (!simple) return std::nullopt;
    result.statements.push_back(std::move(*simple));
  }
  return result;
}

}  // namespace ouroboros::sql
