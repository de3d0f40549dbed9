#pragma once
// A quick look at a statement text on the per-query path: one pass, no allocation. It yields a
// 64-bit key that stands for the text's fingerprint (sql/fingerprint.h), so statistics can be
// keyed without building the fingerprint string for every query: texts with equal keys have
// equal fingerprints (texts that differ only in their literals share a key). The quick pass
// knows the common shapes of SQL (words, numbers, plain '...' strings, "..." names, $n,
// punctuation, one-character operators); anything else (comments, dollar quotes, E'' strings,
// multi-character operators, non-ASCII ...) makes it fall back to a key of the whole text,
// which is still exact, only less shared.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ouroboros::sql {

struct QueryShape {
  // True when the quick pass read the whole text; false when the key is the text's own hash.
  bool scanned = false;
  std::uint64_t key = 0;
  // Non-empty statements when scanned and the text holds at most one ("SELECT 1;;" is one);
  // -1 when it may hold more or was not scanned: ask count_statements().
  int statements = -1;
};

QueryShape query_shape(std::string_view sql);

// The key of a text taken whole, byte for byte (what query_shape() gives a text it does not
// scan): eight bytes a step, for caches keyed by exact text.
std::uint64_t whole_text_key(std::string_view text);

// The key query_shape() gives a text it scans, computed from sql/lexer.h's tokens instead: slower,
// for any text; the definition the quick pass must agree with (checked by tests and fuzzing).
std::uint64_t query_shape_by_lexer(std::string_view sql);

// The statement count without lexing when the quick pass can tell (see QueryShape::statements).
std::size_t count_statements_quickly(std::string_view sql, const QueryShape& shape);

}  // namespace ouroboros::sql
