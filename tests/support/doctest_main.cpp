// doctest's main, with SIGPIPE ignored as the daemon does (src/app/main.cpp): libuv writes to
// sockets with write(2), so a peer that closed first would otherwise kill the test process
// instead of giving the write an EPIPE.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return doctest::Context(argc, argv).run();
}
