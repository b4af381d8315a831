// logistic-package-api: the gRPC API server. Composition root: config, logging, signals, server.
#include "config/logging.hpp"
#include "config/settings.hpp"
#include "config/startup.hpp"
#include "db/migrator.hpp"
#include "grpc_gateway/api_server.hpp"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  // Before any thread exists, so gRPC's, civetweb's and CAF's threads inherit the mask.
  auto wait_for_stop_signal = lpa::block_stop_signals();
  lpa::settings cfg;
  try {
    cfg = lpa::load_settings(lpa::config_path(argc, argv));
  } catch (const lpa::config_error& e) {
    std::cerr << e.what() << std::endl;
    return 2;
  }
  lpa::log::setup(cfg.service.name, cfg.log.level);
  spdlog::info("starting with configuration:\n{}", lpa::render_settings(cfg));

  std::atomic<int> stop_signal{0};
  std::thread signal_watcher{[&] { stop_signal = wait_for_stop_signal(); }};
  auto stop_requested = [&] { return stop_signal.load() != 0; };
  int exit_code = 0;
  try {
    lpa::api_server server{cfg, stop_requested};
    signal_watcher.join();
    spdlog::info("signal {} received, shutting down", stop_signal.load());
    server.shutdown();
  } catch (const lpa::db::startup_cancelled& e) {
    spdlog::info("{}", e.what());
  } catch (const lpa::config_error& e) { // a TLS file that cannot be used
    spdlog::critical("cannot start: {}", e.what());
    exit_code = 2;
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    exit_code = 1;
  }
  if (signal_watcher.joinable()) {
    if (!stop_requested())
      kill(getpid(), SIGTERM); // wake the watcher, which is waiting for a signal
    signal_watcher.join();
  }
  return exit_code;
}
