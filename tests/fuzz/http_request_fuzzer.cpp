// libFuzzer target for the metrics HTTP server's request parser (src/io/http_request.*), fed the
// way the server feeds it: the head is searched for in the bytes received so far, in pieces.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "io/http_request.h"

using namespace ouroboros;
using namespace ouroboros::io;
using fuzz::require;

namespace {

// The end of the head found by scanning the input as it arrives in `chunk`-byte pieces, resuming
// the search two bytes before the previous end (as HttpServer does).
std::size_t head_end_in_pieces(std::string_view input, std::size_t chunk) {
  std::size_t scanned = 0;
  for (std::size_t have = std::min(chunk, input.size());;
       have = std::min(have + chunk, input.size())) {
    const std::size_t end = find_head_end(input.substr(0, have), scanned > 2 ? scanned - 2 : 0);
    scanned = have;
    if (end != std::string_view::npos || have == input.size()) return end;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const std::size_t end = find_head_end(input, 0);
  const std::size_t chunk = size == 0 ? 1 : 1 + data[0] % 7;
  require(head_end_in_pieces(input, chunk) == end);
  require(head_end_in_pieces(input, 1) == end);

  const std::string_view head = end == std::string_view::npos ? input : input.substr(0, end);
  require(end == std::string_view::npos || (end <= size && head.back() == '\n'));
  HttpRequest request;
  const int status = parse_head(head, request);
  require(status == 0 || status == 400 || status == 405 || status == 505);
  if (status == 0) {
    require(request.method == "GET" || request.method == "HEAD");
    require(!request.path.empty() && request.path.front() == '/');
    require(request.path.find('?') == std::string::npos);
    for (char c : request.path + request.query) require(!is_http_control(c));
    // Written back as a request line, the same request comes out.
    std::string again = request.method + " " + request.path;
    if (input.find('?') != std::string_view::npos && head.find('?') < head.find('\n'))
      again += "?" + request.query;
    again += " HTTP/1.1\r\n\r\n";
    HttpRequest reparsed;
    require(parse_head(again, reparsed) == 0);
    require(reparsed.method == request.method && reparsed.path == request.path &&
            reparsed.query == request.query);
  }
  return 0;
}
