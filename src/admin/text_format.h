#pragma once
// How the admin console writes values as text: times like PgBouncer ("2024-05-01 12:00:00 UTC"),
// durations in milliseconds, connection ids as pointers, and message text that is safe to put
// into a NUL-terminated protocol field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "admin/proxy_view.h"

namespace ouroboros::admin {

// "YYYY-MM-DD HH:MM:SS UTC", whole seconds.
std::string format_time(SystemTime time);

// Milliseconds with three decimals: 1234567us -> "1234.567". Negative durations print as 0.
std::string format_milliseconds(Microseconds duration);

// Whole seconds and the microseconds left over, as PgBouncer splits maxwait / maxwait_us.
std::int64_t whole_seconds(Microseconds duration);
std::int64_t microseconds_part(Microseconds duration);

// A connection id in PgBouncer's ptr/link style: 26 -> "0x1a".
std::string format_id(std::uint64_t id);

// `text` with NUL and other control bytes and invalid UTF-8 replaced by '?', cut to at most
// `max_bytes` (plus "...") on a character boundary: fit for an ErrorResponse field.
std::string printable(std::string_view text, std::size_t max_bytes = 200);

}  // namespace ouroboros::admin
