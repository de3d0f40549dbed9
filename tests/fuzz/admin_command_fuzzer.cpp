// libFuzzer target for the admin console's command parser: it never throws, an error is printable
// and bounded, and a parsed command written back out parses to the same command.
#include <cstddef>
#include <cstdint>
#include <string>

#include "admin/admin_command.h"
#include "fuzz_support.h"

using namespace ouroboros;
using namespace ouroboros::admin;
using fuzz::require;

namespace {

// The command as a user would type it, the database name quoted ("" doubled inside).
std::string written(const AdminCommand& command) {
  std::string text(command_info(command.kind).name);
  if (command.database.empty()) return text + ";";
  text += " \"";
  for (char c : command.database) {
    text += c;
    if (c == '"') text += '"';
  }
  return text + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ParsedCommand parsed = parse_admin_command(fuzz::as_text(data, size));
  require(parsed.command.has_value() == parsed.error.empty());
  if (!parsed.command) {
    require(parsed.error.size() <= 512);
    for (char c : parsed.error) {
      const auto byte = static_cast<unsigned char>(c);
      require(byte >= 0x20 && byte != 0x7f);
    }
    return 0;
  }
  const AdminCommand& command = *parsed.command;
  const AdminCommandInfo& info = command_info(command.kind);
  require(info.kind == command.kind);
  require(info.argument != ArgumentRule::None || command.database.empty());
  require(info.argument != ArgumentRule::RequiredDatabase || !command.database.empty());
  require(command.database.size() <= 255);
  const ParsedCommand again = parse_admin_command(written(command));
  require(again.command == parsed.command);
  return 0;
}
