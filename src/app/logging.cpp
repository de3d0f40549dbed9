#include "app/logging.h"

#include "common/json_escape.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace ouroboros::app {

namespace {
// %j: the message escaped for a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    append_json_escaped(dest, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};
}  // namespace

void apply_logging(spdlog::logger& logger, const config::LoggingConfig& logging) {
  logger.set_level(spdlog::level::from_str(logging.level));
  if (logging.format == config::LogFormat::Json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","message":"%j"})");
    logger.set_formatter(std::move(formatter));
  } else {
    logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
  }
  logger.flush_on(spdlog::level::trace);
}

std::shared_ptr<spdlog::logger> make_logger(const config::LoggingConfig& logging) {
  auto logger = std::make_shared<spdlog::logger>("ouroboros", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  apply_logging(*logger, logging);
  return logger;
}

}  // namespace ouroboros::app

namespace ouroboros::app {

std::shared_ptr<spdlog::logger> make_raw_logger(const spdlog::logger& main) {
  // Its own sink: a pattern set on a logger is set on its sinks, so a shared one would change the
  // main logger's format too. Both write whole lines to stderr.
  (void)main;
  auto raw = std::make_shared<spdlog::logger>("ouroboros.raw", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  raw->set_pattern("%v");
  raw->set_level(spdlog::level::trace);  // the main logger's level decides what is written
  raw->flush_on(spdlog::level::trace);
  return raw;
}

}  // namespace ouroboros::app
