#include "sql/session_precheck.h"

#include <array>
#include <cstdint>
#include <string>

#include "sql/ascii.h"
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

// Two bytes as one number, lower-cased (`| 0x20` maps ASCII letters to lower case and no other
// byte onto a letter).
constexpr std::uint16_t pair_of(char first, char second) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(first) | 0x20) |
                                    ((static_cast<unsigned char>(second) | 0x20) << 8));
}

// Whether the text mentions a word that any function call or SELECT INTO of interest must
// contain: set_config, advisory (locks), pg_notify, temp (INTO TEMP, pg_temp). One pass on the
// per-query path, comparing each pair of bytes with the words' first two letters.
bool mentions_interesting_word(std::string_view text) {
  constexpr std::array<std::string_view, 4> kWords = {"set_config", "advisory", "pg_notify", "temp"};
  // Bytes that may start one of the words: most bytes of a query fail this one lookup.
  static constexpr auto kStarts = [] {
    std::array<bool, 256> table{};
    for (char c : {'s', 'a', 'p', 't', 'S', 'A', 'P', 'T'}) table[static_cast<unsigned char>(c)] = true;
    return table;
  }();
  constexpr std::uint16_t kSe = pair_of('s', 'e'), kAd = pair_of('a', 'd'), kPg = pair_of('p', 'g'),
                          kTe = pair_of('t', 'e');
  const std::size_t size = text.size();
  for (std::size_t i = 0; i + 4 <= size; ++i) {
    if (!kStarts[static_cast<unsigned char>(text[i])]) continue;
    const std::uint16_t pair = pair_of(text[i], text[i + 1]);
    if (pair != kSe && pair != kAd && pair != kPg && pair != kTe) continue;
    const std::string_view word = pair == kSe ? kWords[0] : pair == kAd ? kWords[1] : pair == kPg ? kWords[2] : kWords[3];
    if (size - i >= word.size() && equals_ignore_case(text.substr(i, word.size()), word)) return true;
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

bool leaves_session_alone_at_a_glance(std::string_view text) {
  // One statement: nothing but blanks after the first ';' (a ';' inside a literal or comment
  // just sends the text the long way).
  const std::size_t semicolon = text.find(';');
  if (semicolon != std::string_view::npos &&
      text.find_first_not_of(" \t\r\n\f", semicolon + 1) != std::string_view::npos)
    return false;
  if (text.find('\0') != std::string_view::npos) return false;
  const std::string_view word = plain_first_word(text);
  if (word.empty()) return false;  // a comment, a quote, an identifier going on (select_x), ...
  bool row_statement = false;
  for (std::string_view candidate : kRowStatements) {
    if (candidate != "(" && equals_ignore_case(word, candidate)) {
      row_statement = true;
      break;
    }
  }
  return row_statement && !mentions_interesting_word(text);
}

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
