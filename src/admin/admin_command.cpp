#include "admin/admin_command.h"

#include <vector>

#include "admin/text_format.h"
#include "sql/lexer.h"

namespace ouroboros::admin {

namespace {

using K = AdminCommandKind;
using A = ArgumentRule;

constexpr AdminCommandInfo kCommands[] = {
    {K::ShowHelp, "show", "help", "SHOW HELP", "SHOW", A::None, false, "SHOW HELP"},
    {K::ShowPools, "show", "pools", "SHOW POOLS", "SHOW", A::None, false,
     "SHOW POOLS          clients and servers per pool"},
    {K::ShowClients, "show", "clients", "SHOW CLIENTS", "SHOW", A::None, false,
     "SHOW CLIENTS        one row per client connection"},
    {K::ShowServers, "show", "servers", "SHOW SERVERS", "SHOW", A::None, false,
     "SHOW SERVERS        one row per server connection"},
    {K::ShowStats, "show", "stats", "SHOW STATS", "SHOW", A::None, false,
     "SHOW STATS          totals and averages per database"},
    {K::ShowStatsTotals, "show", "stats_totals", "SHOW STATS_TOTALS", "SHOW", A::None, false,
     "SHOW STATS_TOTALS   totals per database"},
    {K::ShowStatsAverages, "show", "stats_averages", "SHOW STATS_AVERAGES", "SHOW", A::None, false,
     "SHOW STATS_AVERAGES averages per database"},
    {K::ShowDatabases, "show", "databases", "SHOW DATABASES", "SHOW", A::None, false,
     "SHOW DATABASES      configured databases"},
    {K::ShowConfig, "show", "config", "SHOW CONFIG", "SHOW", A::None, false,
     "SHOW CONFIG         settings in effect"},
    {K::ShowVersion, "show", "version", "SHOW VERSION", "SHOW", A::None, false,
     "SHOW VERSION        the proxy's version"},
    {K::ShowQueries, "show", "queries", "SHOW QUERIES", "SHOW", A::None, false,
     "SHOW QUERIES        statistics per query fingerprint"},
    {K::Pause, "pause", "", "PAUSE", "PAUSE", A::OptionalDatabase, true,
     "PAUSE [db]          stop handing out servers, wait for them to be released"},
    {K::Resume, "resume", "", "RESUME", "RESUME", A::OptionalDatabase, true,
     "RESUME [db]         undo PAUSE"},
    {K::Reconnect, "reconnect", "", "RECONNECT", "RECONNECT", A::OptionalDatabase, true,
     "RECONNECT [db]      replace server connections as they become idle"},
    {K::Kill, "kill", "", "KILL", "KILL", A::RequiredDatabase, true,
     "KILL db             close every client and server connection of a database"},
    {K::Reload, "reload", "", "RELOAD", "RELOAD", A::None, true,
     "RELOAD              re-read the configuration file"},
    {K::Shutdown, "shutdown", "", "SHUTDOWN", "SHUTDOWN", A::None, true,
     "SHUTDOWN            stop the proxy"},
};

constexpr std::size_t kMaxDatabaseNameBytes = 255;
constexpr std::size_t kMaxQuotedBytes = 64;  // of user text echoed in a syntax error

// A significant token and whether whitespace or a comment came right before it.
struct Word {
  sql::Token token;
  bool spaced = false;
};

std::vector<Word> significant_words(std::string_view statement) {
  std::vector<Word> words;
  sql::Lexer lexer(statement);
  bool spaced = false;
  while (auto token = lexer.next()) {
    if (!sql::is_significant(*token)) {
      spaced = true;
      continue;
    }
    words.push_back({*token, spaced});
    spaced = false;
  }
  if (!words.empty() && words.back().token.kind == sql::TokenKind::Semicolon) words.pop_back();
  return words;
}

std::string quote(std::string_view text) {
  return "\"" + printable(text, kMaxQuotedBytes) + "\"";
}

ParsedCommand syntax_error(std::string message) {
  return ParsedCommand{std::nullopt, std::move(message)};
}

bool can_be_in_bare_name(sql::TokenKind kind) {
  return kind == sql::TokenKind::Identifier || kind == sql::TokenKind::Number ||
         kind == sql::TokenKind::Operator || kind == sql::TokenKind::Punctuation;
}

// "a""b" -> a"b
std::string unquote_identifier(std::string_view quoted) {
  std::string name;
  const std::string_view inner = quoted.substr(1, quoted.size() - 2);
  for (std::size_t i = 0; i < inner.size(); ++i) {
    name.push_back(inner[i]);
    if (inner[i] == '"') ++i;  // the lexer guarantees quotes inside come in pairs
  }
  return name;
}

// Reads a database name starting at words[at]; on success sets `name` and returns the index of
// the first word after it. Returns 0 (never a valid position after the keyword) on error.
std::size_t read_database(const std::vector<Word>& words, std::size_t at, std::string& name,
                          std::string& error) {
  const sql::Token& first = words[at].token;
  std::size_t next = at + 1;
  if (first.kind == sql::TokenKind::QuotedIdentifier && first.text.front() == '"') {
    if (!first.terminated) {
      error = "unterminated quoted database name";
      return 0;
    }
    name = unquote_identifier(first.text);
  } else if (first.kind == sql::TokenKind::Identifier || first.kind == sql::TokenKind::Number) {
    name.assign(first.text);
    while (next < words.size() && !words[next].spaced &&
           can_be_in_bare_name(words[next].token.kind)) {
      name.append(words[next].token.text);
      ++next;
    }
  } else {
    error = "expected a database name, found " + quote(first.text);
    return 0;
  }
  if (name.empty()) {
    error = "the database name is empty";
    return 0;
  }
  if (name.size() > kMaxDatabaseNameBytes) {
    error = "the database name is longer than 255 bytes";
    return 0;
  }
  for (char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      error = "the database name contains a control character";
      return 0;
    }
  }
  return next;
}

const AdminCommandInfo* find_command(std::string_view keyword_text, std::string_view item_text) {
  for (const AdminCommandInfo& info : kCommands) {
    if (sql::equals_ignore_case(keyword_text, info.keyword) &&
        sql::equals_ignore_case(item_text, info.item)) {
      return &info;
    }
  }
  return nullptr;
}

}  // namespace

std::span<const AdminCommandInfo> admin_commands() {
  return kCommands;
}

const AdminCommandInfo& command_info(AdminCommandKind kind) {
  for (const AdminCommandInfo& info : kCommands) {
    if (info.kind == kind) return info;
  }
  return kCommands[0];  // unreachable: every kind has a row (checked by the unit tests)
}

ParsedCommand parse_admin_command(std::string_view statement) {
  const std::vector<Word> words = significant_words(statement);
  if (words.empty()) return syntax_error("empty statement");

  const sql::Token& keyword = words[0].token;
  if (keyword.kind != sql::TokenKind::Identifier) {
    return syntax_error("syntax error at or near " + quote(keyword.text));
  }

  const AdminCommandInfo* info = nullptr;
  std::size_t at = 1;
  if (sql::is_word(keyword, "show")) {
    if (words.size() < 2) return syntax_error("SHOW needs an item, such as SHOW POOLS");
    const sql::Token& item = words[1].token;
    if (item.kind == sql::TokenKind::Identifier) info = find_command("show", item.text);
    if (info == nullptr) return syntax_error("unknown SHOW item " + quote(item.text));
    at = 2;
  } else {
    info = find_command(keyword.text, "");
    if (info == nullptr) return syntax_error("unknown command " + quote(keyword.text));
  }

  AdminCommand command{info->kind, {}};
  if (info->argument != ArgumentRule::None && at < words.size()) {
    std::string error;
    at = read_database(words, at, command.database, error);
    if (at == 0) return syntax_error(std::string(info->name) + ": " + error);
  }
  if (at < words.size()) {
    return syntax_error("unexpected " + quote(words[at].token.text) + " after " +
                        std::string(info->name));
  }
  if (info->argument == ArgumentRule::RequiredDatabase && command.database.empty()) {
    return syntax_error(std::string(info->name) + " needs a database name");
  }
  return ParsedCommand{std::move(command), {}};
}

}  // namespace ouroboros::admin
