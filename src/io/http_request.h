#pragma once
// The request side of the metrics HTTP server without sockets: finding the end of a request head
// and parsing it. Pure functions (no libuv), so they can be unit-tested and fuzzed alone.
#include <cstddef>
#include <string>
#include <string_view>

namespace ouroboros::io {

struct HttpRequest {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // the request target up to '?', as sent (not percent-decoded)
  std::string query;   // after the '?', "" without one
};

// Where the head ends (just past the empty line), searching for line ends from `from`; npos if
// not yet. Lines end in CRLF or, leniently, a bare LF.
std::size_t find_head_end(std::string_view data, std::size_t from);

// Parses a head (request line and headers, ending with the empty line). Returns 0 with `request`
// filled, or the HTTP status to answer with (400, 405, 505).
int parse_head(std::string_view head, HttpRequest& request);

// RFC 9110: control characters (and DEL) never appear in a target or a header value.
bool is_http_control(char c);

}  // namespace ouroboros::io
