#pragma once
// The daemon's logger: stderr, text or one JSON object per line.
#include <spdlog/logger.h>

#include <memory>

#include "config/config.h"

namespace ouroboros::app {

std::shared_ptr<spdlog::logger> make_logger(const config::LoggingConfig& logging);
// Shares `main`'s sink and prints each message as it is: for records that are complete JSON.
std::shared_ptr<spdlog::logger> make_raw_logger(const spdlog::logger& main);
void apply_logging(spdlog::logger& logger, const config::LoggingConfig& logging);

}  // namespace ouroboros::app
