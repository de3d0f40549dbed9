// ouroboros: the PostgreSQL connection-pooling proxy daemon.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "app/logging.h"
#include "config/config_loader.h"
#include "io/event_loop.h"
#include "io/http_server.h"
#include "io/libpq_query.h"
#include "metrics/text_format.h"
#include "io/signal_watcher.h"
#include "proxy/proxy.h"

namespace {

constexpr const char* kUsage =
    "usage: ouroboros --config FILE        run the proxy in the foreground (logs to stderr)\n"
    "       ouroboros --check-config FILE  validate FILE and exit 0 (valid) or 1 (invalid)\n"
    "       ouroboros --version\n"
    "       ouroboros --help\n";

// Prints every problem; returns the config only when there is none.
std::optional<ouroboros::config::Config> load(const std::string& path) {
  auto result = ouroboros::config::load_config_file(path, ouroboros::config::process_environment());
  for (const auto& w : result.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  for (const auto& e : result.errors) std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
  return std::move(result.config);
}

int run(const std::string& path) {
  auto config = load(path);
  if (!config) return 1;
  auto logger = ouroboros::app::make_logger(config->logging);
  auto raw_logger = ouroboros::app::make_raw_logger(*logger);
  std::shared_ptr<const ouroboros::config::Config> shared =
      std::make_shared<const ouroboros::config::Config>(std::move(*config));

  // auth_query runs its queries with libpq, loaded only for it: a missing libpq stops the start,
  // not the first login.
  if (shared->auth.query) {
    if (std::string error = ouroboros::io::libpq_load_error(); !error.empty()) {
      logger->critical("cannot start: auth.query is set: {}", error);
      return 1;
    }
  }
  ouroboros::io::EventLoop loop;
  ouroboros::proxy::Proxy proxy(loop, shared, *logger, *raw_logger);
  if (std::string error = proxy.start(); !error.empty()) {
    logger->critical("cannot start: {}", error);
    return 1;
  }
  // /metrics, /healthz and /readyz, served on the proxy's own loop (reads need no locking).
  std::unique_ptr<ouroboros::io::HttpServer> http;
  if (shared->metrics.port != 0) {
    http = std::make_unique<ouroboros::io::HttpServer>(loop, [&](const ouroboros::io::HttpRequest& request) {
      ouroboros::io::HttpResponse response;
      response.content_type = "text/plain; charset=utf-8";
      if (request.path == "/metrics") {
        response.status = 200;
        response.content_type = std::string(ouroboros::metrics::kTextFormatContentType);
        response.body = proxy.render_metrics();
      } else if (request.path == "/healthz") {
        response.status = 200;
        response.body = "ok\n";
      } else if (request.path == "/readyz") {
        bool ready = proxy.ready();
        response.status = ready ? 200 : 503;
        response.body = ready ? "ready\n" : (proxy.shutting_down() ? "shutting down\n" : "backend unreachable\n");
      } else {
        response.status = 404;
        response.body = "not found: try /metrics, /healthz or /readyz\n";
      }
      return response;
    });
  }
  if (http) {
    if (std::string error = http->listen(shared->metrics.host, shared->metrics.port); !error.empty()) {
      logger->critical("cannot start the metrics listener: {}", error);
      return 1;
    }
    logger->info("metrics listening on {}:{}", shared->metrics.host, http->bound_port());
  }
  ouroboros::io::SignalWatcher term(loop, SIGTERM, [&] { proxy.shutdown("SIGTERM", true); });
  ouroboros::io::SignalWatcher intr(loop, SIGINT, [&] { proxy.shutdown("SIGINT", false); });
  // SIGHUP and the admin console's RELOAD: an invalid file is reported like at start-up and the
  // running configuration stays.
  auto reload = [&]() -> std::string {
    auto result = ouroboros::config::load_config_file(path, ouroboros::config::process_environment());
    for (const auto& w : result.warnings) logger->warn("reload: {}", w);
    std::string errors;
    for (const auto& e : result.errors) {
      logger->error("reload: {}", e.to_string());
      errors += (errors.empty() ? "" : "; ") + e.to_string();
    }
    if (!result.config) {
      logger->error("reload: {} has errors; keeping the running configuration", path);
      return "configuration not reloaded: " + errors;
    }
    if (result.config->listen.host != shared->listen.host || result.config->listen.port != shared->listen.port ||
        result.config->listen.unix_socket_dir != shared->listen.unix_socket_dir)
      logger->warn("reload: listen address changes need a restart; keeping {}:{}", shared->listen.host, proxy.port());
    ouroboros::app::apply_logging(*logger, result.config->logging);
    shared = std::make_shared<const ouroboros::config::Config>(std::move(*result.config));
    proxy.reload(shared);
    return "";
  };
  proxy.set_reload(reload);
  ouroboros::io::SignalWatcher hup(loop, SIGHUP, [&] { reload(); });
  loop.run();
  logger->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A write to a socket the peer closed must be an error code, not a process kill.
  std::signal(SIGPIPE, SIG_IGN);
  std::string arg = argc > 1 ? argv[1] : "";
  if (arg == "--version") {
    std::printf("ouroboros %s\n", OUROBOROS_VERSION);
    return 0;
  }
  if (arg == "--help" || arg == "-h") {
    std::printf("%s", kUsage);
    return 0;
  }
  if ((arg == "--config" || arg == "-c") && argc == 3) return run(argv[2]);
  if (arg == "--check-config" && argc == 3) {
    auto config = load(argv[2]);
    if (!config) return 1;
    // Certificate and key files must load too (the proxy would refuse to start otherwise).
    ouroboros::proxy::TlsContexts tls;
    if (auto problems = tls.reload(*config); !problems.empty()) {
      for (const auto& problem : problems) std::fprintf(stderr, "error: %s\n", problem.c_str());
      return 1;
    }
    std::printf("%s: configuration is valid\n", argv[2]);
    return 0;
  }
  std::fprintf(stderr, "%s", kUsage);
  return 2;
}
