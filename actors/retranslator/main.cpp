// retranslator: relays the outbox to Kafka. Composition root: config, logging, signals, pipeline.
#include "actors/retranslator/retranslator_service.hpp"
#include "config/logging.hpp"
#include "config/settings.hpp"
#include "config/startup.hpp"
#include "db/migrator.hpp"

#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

int main(int argc, char** argv) {
  // Before any thread exists, so CAF's and librdkafka's threads inherit the mask.
  auto wait_for_stop_signal = lpa::block_stop_signals();
  lpa::settings cfg;
  try {
    cfg = lpa::load_settings(lpa::config_path(argc, argv));
  } catch (const lpa::config_error& e) {
    std::cerr << e.what() << std::endl;
    return 2;
  }
  lpa::log::setup("retranslator", cfg.log.level);
  spdlog::info("starting with configuration:\n{}", lpa::render_settings(cfg));

  std::atomic<int> stop_signal{0};
  std::atomic<lpa::retranslator_service*> running{nullptr};
  std::thread signal_watcher{[&] {
    stop_signal = wait_for_stop_signal();
    if (auto* service = running.load()) {
      spdlog::info("signal {} received: draining", stop_signal.load());
      service->drain();
    }
  }};
  int exit_code = 0;
  try {
    lpa::retranslator_service service{cfg, [&] { return stop_signal.load() != 0; }};
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
  } catch (const lpa::db::startup_cancelled& e) {
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
