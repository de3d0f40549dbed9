#pragma once
// Shorthand for the errors the proxy reports to clients before closing them.
#include <string_view>

#include "protocol/messages.h"

namespace ouroboros::proxy {

// The views must outlive the use of the result (pass it straight to an encoder).
inline protocol::ErrorSpec fatal(std::string_view sqlstate, std::string_view message,
                                 std::string_view detail = {}) {
  protocol::ErrorSpec spec;
  spec.severity = "FATAL";
  spec.sqlstate = sqlstate;
  spec.message = message;
  spec.detail = detail;
  return spec;
}

}  // namespace ouroboros::proxy
