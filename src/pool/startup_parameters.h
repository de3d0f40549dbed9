#pragma once
// The startup parameters a client chose (application_name, TimeZone, options, ...) and how a
// server started with other parameters is brought in line. Pure functions; unit-tested.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ouroboros::pool {

// Name/value pairs in the order the client sent them, without "user" and "database".
using StartupParameters = std::vector<std::pair<std::string, std::string>>;

// Client parameters that are not session settings and never reach the server as such.
bool is_connection_parameter(const std::string& name);

// Parameters to forward from a client's StartupMessage (drops user, database, replication).
StartupParameters session_parameters(const std::vector<std::pair<std::string, std::string>>& client);

// A canonical text for matching servers to clients: equal keys mean equal parameters.
std::string parameters_key(const StartupParameters& params);

// The SQL that makes a server started with `server` behave as if started with `client`, or
// nullopt when SET cannot do it (different `options`, or a server parameter the client lacks,
// whose reset value would stay wrong). "" when nothing differs.
std::optional<std::string> sync_sql(const StartupParameters& server, const StartupParameters& client);

// 'value' as an SQL string literal (standard_conforming_strings safe: doubles quotes, E'' never).
std::string quote_literal(const std::string& value);

}  // namespace ouroboros::pool
