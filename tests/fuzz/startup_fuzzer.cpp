// libFuzzer target for start-up packets and the client parameters they carry: the bytes as the
// first bytes of a connection (session::next_startup_step, under each combination of TLS facts);
// decode_startup (src/protocol), then what the pool derives from the parameters (src/pool/startup_parameters.*):
// the matching key, `options` parsing, and the SQL that brings a server's settings in line.
// That SQL embeds client-chosen names and values, so it is lexed back: every value must stay
// inside its string literal, and nothing may add a statement.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "pool/startup_parameters.h"
#include "protocol/frame_reader.h"
#include "protocol/messages.h"
#include "session/startup_negotiation.h"
#include "sql/lexer.h"
#include "sql/statement_splitter.h"

using namespace ouroboros;
using fuzz::require;

namespace {

// SELECT set_config('<name>', '<value>', false), ...; RESET <name>; ...
void check_sync_sql(const pool::Settings& applied, const pool::Settings& desired) {
  const std::string sql = pool::transaction_sync_sql({}, applied, desired);
  std::size_t sets = 0;
  std::size_t resets = 0;
  for (const auto& [name, value] : desired) {
    if (!pool::is_read_only_parameter(name) &&
        pool::transaction_sync_sql({}, {}, {{name, value}}) != "")
      ++sets;
  }
  for (const auto& [name, value] : applied) {
    if (!desired.count(name) && pool::transaction_sync_sql({}, {{name, value}}, {}) != "") ++resets;
  }
  std::size_t strings = 0;
  for (const sql::Token& token : sql::tokenize(sql)) {
    require(token.terminated);
    if (token.kind == sql::TokenKind::String) ++strings;
  }
  require(strings == 2 * sets);
  require(sql::count_statements(sql) == (sets > 0 ? 1 : 0) + resets);
}

// The bytes as what a client sent first: whatever they are, the step is one of the kinds, within
// the input, and keeps the rules (TLS only when offered and not on already, nothing sent after an
// SSLRequest, no login past a refusal that applies).
void check_first_bytes(ByteView input) {
  using Kind = session::StartupStep::Kind;
  static const protocol::FrameReader reader(1 << 16);
  for (unsigned bits = 0; bits < 16; ++bits) {
    session::StartupFacts facts;
    facts.tls_active = bits & 1;
    facts.tls_available = bits & 2;
    facts.tls_required = bits & 4;
    facts.over_limit = bits & 8;
    const session::StartupStep step = session::next_startup_step(input, facts, reader);
    require(step.consumed <= input.size());
    switch (step.kind) {
      case Kind::NeedMore:
        require(step.consumed == 0);
        break;
      case Kind::Reply:
        require(step.reply == Bytes{'N'} && step.consumed > 0);
        break;
      case Kind::StartTls:
        require(facts.tls_available && !facts.tls_active);
        if (step.direct_tls) require(step.consumed == 0 && input[0] == 0x16 && step.reply.empty());
        else require(step.reply == Bytes{'S'} && step.consumed == input.size());
        break;
      case Kind::Cancel:
        require(step.consumed > 0);
        break;
      case Kind::Refuse:
        require(step.consumed == input.size() && !step.message.empty() && step.sqlstate.size() == 5);
        break;
      case Kind::Startup:
        require(step.packet && step.packet->parameter("user").has_value());
        require(!facts.over_limit && (facts.tls_active || !facts.tls_required));
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_first_bytes(ByteView(data, size));
  const auto packet = protocol::decode_startup(ByteView(data, size));
  if (!packet || packet->kind != protocol::StartupKind::Startup) return 0;
  require(packet->parameter("user").has_value());

  const pool::StartupParameters params = pool::session_parameters(packet->parameters);
  for (const auto& [name, value] : params) {
    require(name != "user" && name != "database");
    (void)value;
  }
  require(pool::parameters_key(params) == pool::parameters_key(params));
  require(pool::sync_sql(params, params) == std::optional<std::string>(""));
  if (const auto options = packet->parameter("options"))
    (void)pool::parse_options(std::string(*options));

  // The client's settings against a server that had another client's (the packet's second half).
  const pool::Settings desired = pool::startup_settings(params);
  const std::size_t half = params.size() / 2;
  const pool::Settings applied = pool::startup_settings(
      pool::StartupParameters(params.begin() + static_cast<std::ptrdiff_t>(half), params.end()));
  require(pool::transaction_sync_sql(desired, desired, desired).empty());
  check_sync_sql(applied, desired);
  return 0;
}
