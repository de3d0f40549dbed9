#include "admin/admin_console.h"

#include <string>
#include <vector>

#include "admin/show_tables.h"
#include "admin/text_format.h"
#include "protocol/messages.h"
#include "protocol/sqlstate.h"
#include "sql/statement_splitter.h"

namespace ouroboros::admin {

namespace {

// SQLSTATEs only the console reports.
constexpr std::string_view kInsufficientPrivilege = "42501";
constexpr std::string_view kSyntaxError = "42601";
constexpr std::string_view kObjectNotInPrerequisiteState = "55000";

constexpr std::size_t kMaxMessageBytes = 1000;
constexpr std::string_view kHelpHint = "SHOW HELP lists the commands.";

void append_error(Bytes& out, std::string_view sqlstate, std::string_view message,
                  std::string_view hint = {}) {
  const std::string text = printable(message, kMaxMessageBytes);
  protocol::ErrorSpec error;
  error.sqlstate = sqlstate;
  error.message = text;
  error.hint = hint;
  protocol::encode_error_response(out, error);
}

void append_help(Bytes& out) {
  std::string detail;
  for (const AdminCommandInfo& info : admin_commands()) {
    if (!detail.empty()) detail.push_back('\n');
    detail.append(info.usage);
  }
  protocol::ErrorSpec notice;
  notice.severity = "NOTICE";
  notice.sqlstate = "00000";
  notice.message = "Console usage";
  notice.detail = detail;
  protocol::encode_notice_response(out, notice);
}

}  // namespace

Bytes AdminConsole::handle_query(std::string_view sql) {
  Bytes out;
  std::vector<AdminCommand> commands;
  sql::StatementSplitter splitter(sql);
  while (auto statement = splitter.next()) {
    if (statement->empty) continue;
    if (commands.size() == kMaxStatementsPerQuery) {
      append_error(out, sqlstate::kProgramLimitExceeded,
                   "too many statements in one query (at most " +
                       std::to_string(kMaxStatementsPerQuery) + ")");
      protocol::encode_ready_for_query(out, 'I');
      return out;
    }
    ParsedCommand parsed = parse_admin_command(statement->text);
    if (!parsed.command) {
      append_error(out, kSyntaxError, "syntax error: " + parsed.error, kHelpHint);
      protocol::encode_ready_for_query(out, 'I');
      return out;
    }
    const AdminCommandInfo& info = command_info(parsed.command->kind);
    if (info.modifies && !may_modify_) {
      append_error(out, kInsufficientPrivilege,
                   "permission denied: " + std::string(info.name) +
                       " needs an admin user (stats_users are read-only)");
      protocol::encode_ready_for_query(out, 'I');
      return out;
    }
    commands.push_back(std::move(*parsed.command));
  }

  if (commands.empty()) {
    protocol::MessageWriter(out, protocol::backend::kEmptyQueryResponse).finish();
  }
  for (const AdminCommand& command : commands) {
    if (!run(command, out)) break;
  }
  protocol::encode_ready_for_query(out, 'I');
  return out;
}

bool AdminConsole::run(const AdminCommand& command, Bytes& out) {
  const AdminCommandInfo& info = command_info(command.kind);
  switch (command.kind) {
    case AdminCommandKind::ShowHelp:
      append_help(out);
      protocol::encode_command_complete(out, info.tag);
      return true;
    case AdminCommandKind::ShowPools:
      pools_table(view_.pools()).encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowClients:
      connections_table(view_.clients(), "C").encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowServers:
      connections_table(view_.servers(), "S").encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowStats:
      stats_table(view_.pools()).encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowStatsTotals:
      stats_totals_table(view_.pools()).encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowStatsAverages:
      stats_averages_table(view_.pools()).encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowDatabases:
      databases_table(view_.databases()).encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowConfig:
      config_table(view_.config()).encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowVersion:
      version_table(view_.version()).encode(out, info.tag);
      return true;
    case AdminCommandKind::ShowQueries:
      queries_table(view_.query_stats()).encode(out, info.tag);
      return true;
    case AdminCommandKind::Pause:
      return finish_command(info, view_.pause(command.database), out);
    case AdminCommandKind::Resume:
      return finish_command(info, view_.resume(command.database), out);
    case AdminCommandKind::Reconnect:
      return finish_command(info, view_.reconnect(command.database), out);
    case AdminCommandKind::Kill:
      return finish_command(info, view_.kill(command.database), out);
    case AdminCommandKind::Reload:
      return finish_command(info, view_.reload(), out);
    case AdminCommandKind::Shutdown:
      return finish_command(info, view_.shutdown(), out);
  }
  return true;
}

bool AdminConsole::finish_command(const AdminCommandInfo& info, const std::string& error,
                                  Bytes& out) {
  if (!error.empty()) {
    append_error(out, kObjectNotInPrerequisiteState, error);
    return false;
  }
  protocol::encode_command_complete(out, info.tag);
  return true;
}

Bytes error_response(std::string_view sqlstate, std::string_view message) {
  Bytes out;
  append_error(out, sqlstate, message);
  protocol::encode_ready_for_query(out, 'I');
  return out;
}

Bytes simple_query_only_response() {
  return error_response(sqlstate::kFeatureNotSupported,
                        "the admin console supports the simple query protocol only");
}

}  // namespace ouroboros::admin
