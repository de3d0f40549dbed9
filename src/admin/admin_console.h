#pragma once
// The admin console of the virtual database "ouroboros": one Query message's text in, the
// complete simple-query response out. No I/O: the proxy reads the Query, calls handle_query and
// writes the bytes back.
//
// A query may hold several statements ("SHOW POOLS; SHOW STATS"). All of them are parsed and
// permission-checked before any runs, so a typo or a refused command in the list runs nothing;
// an error reported by the proxy while running one stops the rest. Results come in order,
// followed by one ReadyForQuery.
#include <cstddef>
#include <string_view>

#include "admin/admin_command.h"
#include "admin/proxy_view.h"
#include "common/bytes.h"

namespace ouroboros::admin {

class AdminConsole {
 public:
  // Statements in one query beyond this are refused (54000) before any runs: a query of many
  // cheap statements could otherwise ask for an unbounded response.
  static constexpr std::size_t kMaxStatementsPerQuery = 100;

  // `may_modify` is false for stats_users: SHOW only.
  AdminConsole(ProxyView& view, bool may_modify) : view_(view), may_modify_(may_modify) {}

  // RowDescription + DataRow* + CommandComplete per SHOW, CommandComplete per other command,
  // or ErrorResponse; EmptyQueryResponse when there is no statement; always ReadyForQuery('I')
  // last.
  Bytes handle_query(std::string_view sql);

 private:
  // Appends the response of one command; false if it failed (an ErrorResponse was appended).
  bool run(const AdminCommand& command, Bytes& out);
  // Appends the response of a command of the proxy: CommandComplete or a 55000 error.
  bool finish_command(const AdminCommandInfo& info, const std::string& error, Bytes& out);

  ProxyView& view_;
  bool may_modify_;
};

// ErrorResponse (severity ERROR) followed by ReadyForQuery('I'). The message is made printable
// and cut to a bounded length.
Bytes error_response(std::string_view sqlstate, std::string_view message);

// The answer to an extended-protocol message: 0A000 "the admin console supports the simple
// query protocol only" followed by ReadyForQuery('I').
Bytes simple_query_only_response();

}  // namespace ouroboros::admin
