// libFuzzer target for the boundary between client SQL and PostgreSQL's parser (libpg_query):
// the session statement classifier, and the SessionSettings / SessionStateTracker it feeds.
// Input: records (fuzz_support.h). Tag % 4: 0 = a Query whose statements all succeed, 1 = one
// whose last statement fails, 2 = ReadyForQuery with status "ITE"[byte % 3], 3 = settings the
// server has ("name=value" lines) to diff against.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "session/session_settings.h"
#include "session/session_state_tracker.h"
#include "sql/session_parse_tree.h"
#include "sql/session_precheck.h"
#include "sql/session_statement.h"

using namespace ouroboros;
using fuzz::require;
using K = sql::SessionEffectKind;

namespace {

bool is_plain_transaction(K kind) {
  return kind == K::Begin || kind == K::Commit || kind == K::Rollback;
}

// What the pre-check answers without the parser, the parser must agree with: the same number
// of statements, and no effect beyond BEGIN/COMMIT/ROLLBACK where the pre-check saw none.
void check_precheck(std::string_view text, const sql::Classification& parsed) {
  const std::optional<sql::Classification> simple = sql::classify_without_parser(text);
  // The glance at the first word is stricter still: what it lets through, the pre-check does.
  if (sql::leaves_session_alone_at_a_glance(text)) {
    require(simple.has_value());
    if (simple)
      for (const auto& statement : simple->statements) require(statement.effects.empty());
  }
  if (!simple || parsed.syntax_error) return;
  require(simple->statements.size() == parsed.statements.size());
  for (std::size_t i = 0; i < parsed.statements.size(); ++i) {
    for (const sql::SessionEffect& effect : parsed.statements[i].effects)
      require(is_plain_transaction(effect.kind));
  }
}

void check_refusal(const sql::ClassifiedStatement& statement) {
  bool pins = false;
  for (const sql::SessionEffect& effect : statement.effects) {
    pins = pins || effect.kind == K::CreateTemp || effect.kind == K::AdvisoryLock ||
           effect.kind == K::AdvisoryLockShared || effect.kind == K::DeclareHoldCursor ||
           effect.kind == K::Load;
  }
  require(session::SessionStateTracker::refusal(statement).has_value() == pins);
}

session::SessionSettings::Values server_values(std::string_view text) {
  session::SessionSettings::Values out;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    const std::size_t eq = line.find('=');
    if (eq != std::string_view::npos)
      out[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sql::SessionStatementClassifier classifier(64);
  session::SessionSettings settings(session::SessionSettings::Values{{"datestyle", "ISO, MDY"}});
  session::SessionStateTracker tracker;
  fuzz::Records records(fuzz::as_text(data, size));
  fuzz::Records::Record record;
  while (records.next(record)) {
    switch (record.tag % 4) {
      case 0:
      case 1: {
        const sql::Classification result = classifier.classify(record.bytes);
        // The cache answers what the parser would.
        require(classifier.classify(record.bytes) == result);
        const sql::Classification parsed = sql::parse_session_effects(record.bytes);
        if (sql::classify_without_parser(record.bytes) == std::nullopt) require(parsed == result);
        check_precheck(record.bytes, parsed);
        const std::size_t count = result.statements.size();
        for (std::size_t i = 0; i < count; ++i) {
          const bool ok = record.tag % 4 == 0 || i + 1 < count;
          check_refusal(result.statements[i]);
          settings.on_statement(result.statements[i], ok);
          tracker.on_statement(result.statements[i], ok);
        }
        break;
      }
      case 2: {
        const char status =
            "ITE"[record.bytes.empty() ? 0 : static_cast<unsigned char>(record.bytes[0]) % 3];
        settings.on_ready_for_query(status);
        tracker.on_ready_for_query(status);
        break;
      }
      default: {
        const session::SessionSettings::Values server = server_values(record.bytes);
        (void)settings.diff(server);
        break;
      }
    }
    // A server that already has every expected setting needs nothing; the reason names the pin.
    require(settings.diff(settings.expected()).empty());
    require(tracker.pinned() == !tracker.reason().empty());
  }
  return 0;
}
