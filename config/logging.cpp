#include "config/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace lpa::log {

namespace {

std::shared_ptr<spdlog::logger>& debug_twin() {
  static std::shared_ptr<spdlog::logger> twin;
  return twin;
}

} // namespace

void setup(const std::string& service_name, const std::string& level, spdlog::sink_ptr sink) {
  if (!sink)
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto main = std::make_shared<spdlog::logger>(service_name, sink);
  main->set_level(spdlog::level::from_str(level));
  auto twin = std::make_shared<spdlog::logger>(service_name, sink);
  twin->set_level(spdlog::level::debug);
  for (const auto& logger : {main, twin})
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ [%n] %v");
  spdlog::set_default_logger(main);
  debug_twin() = twin;
}

spdlog::logger& for_request(bool debug) {
  auto& twin = debug_twin();
  if (debug && twin)
    return *twin;
  return *spdlog::default_logger_raw();
}

} // namespace lpa::log
