// HostResolver on a real loop: a name from /etc/hosts (no DNS traffic), an address, and a
// resolver destroyed before its answer (the answer must not reach the dead owner).
#include "io/host_resolver.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace ouroboros::io;

namespace {
struct Answer {
  int status = -1;
  std::vector<std::string> addresses;
};

Answer resolve_once(const std::string& host) {
  EventLoop loop;
  HostResolver resolver(loop);
  std::optional<Answer> answer;
  resolver.resolve(host, "5432", [&](int status, addrinfo* addresses) {
    Answer a;
    a.status = status;
    for (addrinfo* ai = addresses; ai != nullptr; ai = ai->ai_next) a.addresses.push_back(address_text(*ai->ai_addr));
    if (addresses) uv_freeaddrinfo(addresses);
    answer = a;
  });
  CHECK_FALSE(answer.has_value());  // never inside resolve()
  loop.run();
  REQUIRE(answer.has_value());
  return *answer;
}
}  // namespace

TEST_CASE("HostResolver: localhost (from /etc/hosts) and an IPv4 address") {
  const Answer local = resolve_once("localhost");
  CHECK(local.status == 0);
  CHECK(std::find(local.addresses.begin(), local.addresses.end(), "127.0.0.1") != local.addresses.end());
  const Answer address = resolve_once("127.0.0.1");
  CHECK(address.status == 0);
  CHECK(address.addresses == std::vector<std::string>{"127.0.0.1"});
}

TEST_CASE("HostResolver: destroyed before the answer, its callback never runs") {
  EventLoop loop;
  bool called = false;
  auto resolver = std::make_unique<HostResolver>(loop);
  resolver->resolve("localhost", "5432", [&](int, addrinfo* addresses) {
    called = true;
    if (addresses) uv_freeaddrinfo(addresses);
  });
  resolver.reset();
  loop.run();  // libuv still finishes the lookup; the request frees itself
  CHECK_FALSE(called);
}
