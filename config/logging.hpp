#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace lpa::log {

// Sets up the process logger (named `service_name`) at `level` (trace|debug|info|warn|error),
// writing to `sink` (stderr when none is given).
void setup(const std::string& service_name, const std::string& level,
           spdlog::sink_ptr sink = nullptr);

// The logger for work done on behalf of a request: the process logger, or, when the client
// asked for `log_level: debug`, a twin writing to the same sink at debug level (that request
// only).
spdlog::logger& for_request(bool debug);

} // namespace lpa::log
