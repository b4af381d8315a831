#pragma once

// The main of a pipeline process (the retranslator, package-history): config, logging, signals,
// the service until SIGTERM or SIGINT drains it or its supervisor gives up.

#include "config/logging.hpp"
#include "config/settings.hpp"
#include "config/startup.hpp"
#include "db/migrator.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

#include <unistd.h>

namespace lpa {

// Runs a Service (constructed from settings and a stop_requested function; drain(), wait()) and
// returns the process's exit code.
template <class Service>
int run_pipeline_process(const char* log_name, int argc, char** argv) {
  // Before any thread exists, so CAF's and librdkafka's threads inherit the mask.
  auto wait_for_stop_signal = block_stop_signals();
  settings cfg;
  try {
    cfg = load_settings(config_path(argc, argv));
  } catch (const config_error& e) {
    std::cerr << e.what() << std::endl;
    return 2;
  }
  log::setup(log_name, cfg.log.level);
  spdlog::info("starting with configuration:\n{}", render_settings(cfg));

  std::atomic<int> stop_signal{0};
  std::atomic<Service*> running{nullptr};
  std::thread signal_watcher{[&] {
    stop_signal = wait_for_stop_signal();
    if (auto* service = running.load()) {
      spdlog::info("signal {} received: draining", stop_signal.load());
      service->drain();
    }
  }};
  int exit_code = 0;
  try {
    Service service{cfg, [&] { return stop_signal.load() != 0; }};
    running = &service;
    if (stop_signal != 0)
      service.drain(); // the signal came while starting
    if (!service.wait()) {
      spdlog::critical("pipeline gave up; exiting non-zero");
      exit_code = 1;
    }
    if (stop_signal == 0)
      kill(getpid(), SIGTERM); // wake the watcher (it drains nothing: the pipeline is gone)
    signal_watcher.join();
    running = nullptr;
  } catch (const db::startup_cancelled& e) {
    spdlog::info("{}", e.what());
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    exit_code = 1;
  }
  if (signal_watcher.joinable()) {
    if (stop_signal == 0)
      kill(getpid(), SIGTERM);
    signal_watcher.join();
  }
  spdlog::info("stopped");
  return exit_code;
}

} // namespace lpa
