#pragma once
// Escapes text for the inside of a JSON string. A template so spdlog's format buffer and
// std::string share it (both have push_back and append(first, last)).
#include <cstdio>
#include <string_view>

namespace ouroboros {

template <class Out>
void append_json_escaped(Out& out, std::string_view text) {
  auto put = [&](std::string_view s) { out.append(s.data(), s.data() + s.size()); };
  for (char c : text) {
    switch (c) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\n': put("\\n"); break;
      case '\r': put("\\r"); break;
      case '\t': put("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          put(buf);
        } else {
          out.push_back(c);
        }
    }
  }
}

}  // namespace ouroboros
