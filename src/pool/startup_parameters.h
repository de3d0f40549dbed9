#pragma once
// The startup parameters a client chose (application_name, TimeZone, options, ...) and how a
// server started with other parameters is brought in line. Pure functions; unit-tested.
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ouroboros::pool {

// Name/value pairs in the order the client sent them, without "user" and "database".
using StartupParameters = std::vector<std::pair<std::string, std::string>>;

// Client parameters that are not session settings and never reach the server as such.
bool is_connection_parameter(const std::string& name);

// Parameters to forward from a client's StartupMessage (drops user, database, replication). Of a
// name sent more than once (in any case) only the last value is kept, as PostgreSQL applies it.
StartupParameters session_parameters(const std::vector<std::pair<std::string, std::string>>& client);

// A canonical text for matching servers to clients: equal keys mean equal parameters.
std::string parameters_key(const StartupParameters& params);

// The SQL that makes a server started with `server` behave as if started with `client`, or
// nullopt when SET cannot do it (different `options`, or a server parameter the client lacks,
// whose reset value would stay wrong). "" when nothing differs.
std::optional<std::string> sync_sql(const StartupParameters& server, const StartupParameters& client);

// Settings by lower-case name (GUC names are case-insensitive).
using Settings = std::map<std::string, std::string>;

std::string lower_name(const std::string& name);

// `options` ("-c a=b --c=d") as settings; nullopt when it holds anything else.
std::optional<Settings> parse_options(const std::string& options);

// The settings a transaction-mode client asked for at startup: its parameters plus the
// `-c` settings in `options` (lower-case names).
Settings startup_settings(const StartupParameters& params);

// Reported parameters a client cannot change (never synchronised).
bool is_read_only_parameter(const std::string& lower_name);

// SQL that moves a server from `current` (what it reported plus what the proxy set) to the
// client's `desired` settings: SET for differing values, RESET for settings the proxy applied
// for an earlier client (`applied`) that this client does not have. "" when nothing differs.
std::string transaction_sync_sql(const Settings& current, const Settings& applied, const Settings& desired);

// 'value' as an SQL string literal (standard_conforming_strings safe: doubles quotes, E'' never).
std::string quote_literal(const std::string& value);
// `pg_catalog.set_config('name', 'value', false)`: set_config() reads the value as a configuration
// file would, so a list such as search_path keeps its elements.
std::string set_config_call(const std::string& name, const std::string& value);

}  // namespace ouroboros::pool
