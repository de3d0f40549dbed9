#pragma once
// The admin console's command language: one statement (as StatementSplitter cuts it) parsed into
// a command and its optional database argument. Keywords are case-insensitive; comments and
// whitespace are ignored. Database names are taken verbatim (case-sensitive, like the names in
// the configuration): a bare name is a run of adjacent word, number and symbol characters
// (app_db, my-db, shard.1), a quoted name ("My DB") may contain anything but control characters.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ouroboros::admin {

enum class AdminCommandKind : std::uint8_t {
  ShowHelp,
  ShowPools,
  ShowClients,
  ShowServers,
  ShowStats,
  ShowStatsTotals,
  ShowStatsAverages,
  ShowDatabases,
  ShowConfig,
  ShowVersion,
  ShowQueries,
  Pause,
  Resume,
  Reconnect,
  Kill,
  Reload,
  Shutdown,
};

enum class ArgumentRule : std::uint8_t { None, OptionalDatabase, RequiredDatabase };

// One row of the command table.
struct AdminCommandInfo {
  AdminCommandKind kind;
  std::string_view keyword;  // lower case: "show", "pause", ...
  std::string_view item;     // lower case SHOW item ("pools"), "" for other commands
  std::string_view name;     // for messages: "SHOW POOLS", "PAUSE"
  std::string_view tag;      // CommandComplete tag
  ArgumentRule argument;
  bool modifies;           // refused for read-only (stats) users
  std::string_view usage;  // one line for SHOW HELP
};

// Every command, in the order SHOW HELP lists them.
std::span<const AdminCommandInfo> admin_commands();
const AdminCommandInfo& command_info(AdminCommandKind kind);

struct AdminCommand {
  AdminCommandKind kind = AdminCommandKind::ShowHelp;
  std::string database;  // "" = all databases (or no argument)

  bool operator==(const AdminCommand&) const = default;
};

struct ParsedCommand {
  std::optional<AdminCommand> command;  // nullopt: a syntax error, described by `error`
  std::string error;                    // printable, bounded in length
};

// Parses one statement; a trailing semicolon is allowed. Never throws on any input.
ParsedCommand parse_admin_command(std::string_view statement);

}  // namespace ouroboros::admin
