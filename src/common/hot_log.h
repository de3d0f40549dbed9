#pragma once
// Trace and debug lines on the per-message path. spdlog's logger::trace()/debug() compare the
// level only inside an out-of-line template, so a line that is off still costs a call and its
// arguments; these compare first (inline), and build the arguments only when the line is on.
#include <spdlog/spdlog.h>

#define OURO_TRACE(logger, ...)                                                  \
  do {                                                                          \
    if ((logger).should_log(spdlog::level::trace)) (logger).trace(__VA_ARGS__); \
  } while (0)

#define OURO_DEBUG(logger, ...)                                                  \
  do {                                                                          \
    if ((logger).should_log(spdlog::level::debug)) (logger).debug(__VA_ARGS__); \
  } while (0)
