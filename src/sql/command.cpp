#include "sql/command.h"

#include <optional>

#include "sql/ascii.h"
#include "sql/lexer.h"

namespace ouroboros::sql {
namespace {

// PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes, on a character boundary.
constexpr std::size_t kMaxIdentifierBytes = 63;

// The significant tokens of the first statement, one at a time.
class StatementTokens {
 public:
  explicit StatementTokens(std::string_view sql) : lexer_(sql) {}

  std::optional<Token> next() {
    while (auto token = lexer_.next()) {
      if (token->kind == TokenKind::Semicolon) break;
      if (is_significant(*token)) return token;
    }
    return std::nullopt;
  }

 private:
  Lexer lexer_;
};

void truncate_identifier(std::string& name) {
  if (name.size() <= kMaxIdentifierBytes) return;
  std::size_t cut = kMaxIdentifierBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  name.resize(cut);
}

// A statement name as PostgreSQL would store it, or nullopt if the token is not a usable name.
std::optional<std::string> statement_name(const std::optional<Token>& token) {
  if (!token) return std::nullopt;
  std::string name;
  if (token->kind == TokenKind::Identifier) {
    append_lower(name, token->text);
  } else if (token->kind == TokenKind::QuotedIdentifier && token->terminated &&
             token->text.front() == '"') {
    const std::string_view inner = token->text.substr(1, token->text.size() - 2);
    if (inner.empty()) return std::nullopt;  // zero-length delimited identifiers are errors
    for (std::size_t i = 0; i < inner.size(); ++i) {
      name.push_back(inner[i]);
      if (inner[i] == '"') ++i;  // "" stands for one quote
    }
  } else {
    return std::nullopt;
  }
  truncate_identifier(name);
  return name;
}

// Skips a parenthesized list whose "(" was just read; false if it never closes.
bool skip_parenthesized(StatementTokens& tokens) {
  int depth = 1;
  while (auto token = tokens.next()) {
    if (is_symbol(*token, "(")) ++depth;
    if (is_symbol(*token, ")") && --depth == 0) return true;
  }
  return false;
}

Command named(CommandKind kind, std::optional<std::string> name) {
  if (!name) return {};
  return Command{kind, std::move(*name)};
}

Command classify_deallocate(StatementTokens& tokens) {
  auto first = tokens.next();
  auto second = tokens.next();
  // PREPARE is an optional noise word, but also a valid name on its own: DEALLOCATE prepare.
  if (first && is_word(*first, "prepare") && second) {
    first = second;
    second = tokens.next();
  }
  if (!first || second) return {};
  // ALL is reserved, so an unquoted "all" is never a statement name.
  if (is_word(*first, "all")) return Command{CommandKind::DeallocateAll, {}};
  return named(CommandKind::Deallocate, statement_name(first));
}

Command classify_prepare(StatementTokens& tokens) {
  const auto name_token = tokens.next();
  auto next = tokens.next();
  if (!next) return {};
  if (is_symbol(*next, "(")) {
    if (!skip_parenthesized(tokens)) return {};
    next = tokens.next();
  }
  // PREPARE TRANSACTION 'gid' fails here: a string follows, not AS.
  if (!next || !is_word(*next, "as") || !tokens.next()) return {};
  return named(CommandKind::Prepare, statement_name(name_token));
}

Command classify_execute(StatementTokens& tokens) {
  const auto name_token = tokens.next();
  const auto next = tokens.next();
  if (next && !is_symbol(*next, "(")) return {};
  return named(CommandKind::Execute, statement_name(name_token));
}

// COMMIT/ROLLBACK and their synonyms: an optional WORK or TRANSACTION, then an optional
// AND [NO] CHAIN. Anything else (PREPARED 'gid', TO SAVEPOINT x) is a different command.
bool transaction_end_tail_ok(StatementTokens& tokens) {
  auto next = tokens.next();
  if (next && (is_word(*next, "work") || is_word(*next, "transaction"))) next = tokens.next();
  return !next || is_word(*next, "and");
}

// False when the text's first word is plainly none of the words classify() looks for (SELECT,
// INSERT, ...): then the lexer has nothing to add. True when it may be one, or when the text does
// not start with a plain word (a comment, a quote, a parenthesis): the lexer decides.
bool may_be_command(std::string_view sql) {
  const std::string_view word = plain_first_word(sql);
  if (word.empty()) return true;
  // By first letter: a SELECT costs one length comparison.
  switch (word[0] | 0x20) {
    case 'a': return equals_ignore_case(word, "abort");
    case 'b': return equals_ignore_case(word, "begin");
    case 'c': return equals_ignore_case(word, "commit");
    case 'd': return equals_ignore_case(word, "deallocate") || equals_ignore_case(word, "discard");
    case 'e': return equals_ignore_case(word, "execute") || equals_ignore_case(word, "end");
    case 'p': return equals_ignore_case(word, "prepare");
    case 'r': return equals_ignore_case(word, "rollback");
    case 's': return equals_ignore_case(word, "start");
    default: return false;
  }
}

}  // namespace

Command classify(std::string_view sql) {
  if (!may_be_command(sql)) return {};
  StatementTokens tokens(sql);
  const auto first = tokens.next();
  if (!first || first->kind != TokenKind::Identifier) return {};
  if (is_word(*first, "deallocate")) return classify_deallocate(tokens);
  if (is_word(*first, "prepare")) return classify_prepare(tokens);
  if (is_word(*first, "execute")) return classify_execute(tokens);
  if (is_word(*first, "discard")) {
    const auto what = tokens.next();
    if (what && is_word(*what, "all") && !tokens.next())
      return Command{CommandKind::DiscardAll, {}};
    return {};
  }
  if (is_word(*first, "begin")) return Command{CommandKind::Begin, {}};
  if (is_word(*first, "start")) {
    const auto what = tokens.next();
    return what && is_word(*what, "transaction") ? Command{CommandKind::Begin, {}} : Command{};
  }
  if (is_word(*first, "commit") || is_word(*first, "end")) {
    return transaction_end_tail_ok(tokens) ? Command{CommandKind::Commit, {}} : Command{};
  }
  if (is_word(*first, "rollback") || is_word(*first, "abort")) {
    return transaction_end_tail_ok(tokens) ? Command{CommandKind::Rollback, {}} : Command{};
  }
  return {};
}

}  // namespace ouroboros::sql
