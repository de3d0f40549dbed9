// libFuzzer target for the SQL text module: lexer, statement splitter, redaction, fingerprints,
// statement classification and trace context, with the invariants each header promises.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "sql/command.h"
#include "sql/fingerprint.h"
#include "sql/lexer.h"
#include "sql/query_shape.h"
#include "sql/redact.h"
#include "sql/shape_cache.h"
#include "sql/statement_splitter.h"
#include "sql/trace_context.h"

using namespace ouroboros;
using namespace ouroboros::sql;
using fuzz::require;

namespace {

// Every byte lands in exactly one non-empty token; only the last token may be unterminated.
void check_tokens(std::string_view text) {
  const std::vector<Token> tokens = tokenize(text);
  std::size_t at = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    require(!token.text.empty());
    require(token.text.data() == text.data() + at);
    at += token.text.size();
    require(token.terminated || i + 1 == tokens.size());
  }
  require(at == text.size());
}

// Consecutive statements tile the input; count_statements counts the non-empty ones.
void check_statements(std::string_view text) {
  StatementSplitter splitter(text);
  std::size_t at = 0;
  std::size_t non_empty = 0;
  while (const auto statement = splitter.next()) {
    require(statement->text.data() == text.data() + at);
    require(!statement->text.empty());
    at += statement->text.size();
    if (!statement->empty) ++non_empty;
  }
  require(at == text.size());
  require(count_statements(text) == non_empty);
}

// No literal survives: the output lexes to no string, number, TRUE or FALSE.
void check_no_literals(std::string_view text) {
  for (const Token& token : tokenize(text)) require(!is_literal(token));
}

void check_redaction(std::string_view text) {
  const std::string redacted = redact(text);
  check_no_literals(redacted);
  require(redact(redacted) == redacted);
  require(safe_for_log(text, false) == redacted);
  const std::string logged = safe_for_log(text, true);
  if (!may_contain_password(text)) require(logged == text);
}

void check_fingerprint(std::string_view text) {
  const std::string print = fingerprint(text);
  for (const Token& token : tokenize(print)) {
    require(!is_literal(token) && token.kind != TokenKind::Comment);
  }
}

// The quick pass agrees with the lexer wherever it does not fall back.
void check_query_shape(std::string_view text) {
  const QueryShape shape = query_shape(text);
  // The cache (kept across inputs, so slots are shared and replaced) answers the same shape,
  // the first time and again.
  static ShapeCache cache;
  for (int i = 0; i < 2; ++i) {
    const QueryShape cached = cache.shape_of(text);
    require(cached.key == shape.key && cached.statements == shape.statements && cached.scanned == shape.scanned);
  }
  if (!shape.scanned) return;
  require(shape.key == query_shape_by_lexer(text));
  if (shape.statements >= 0) require(static_cast<std::size_t>(shape.statements) == count_statements(text));
}

void check_classify(std::string_view text) {
  const Command command = classify(text);
  const bool named = command.kind == CommandKind::Prepare || command.kind == CommandKind::Execute ||
                     command.kind == CommandKind::Deallocate;
  require(named || command.name.empty());
  require(command.name.size() <= 63);
}

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void check_trace(std::string_view text) {
  if (const auto context = parse_traceparent(text)) {
    require(context->trace_id.size() == 32 && is_lower_hex(context->trace_id));
    require(context->parent_id.size() == 16 && is_lower_hex(context->parent_id));
  }
  const auto context = trace_context(text);
  const auto id = trace_id(text);
  require(context.has_value() == id.has_value());
  if (context) require(context->trace_id == *id && context->trace_id.size() == 32);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  check_tokens(text);
  check_statements(text);
  check_redaction(text);
  check_fingerprint(text);
  check_query_shape(text);
  check_classify(text);
  check_trace(text);
  return 0;
}
