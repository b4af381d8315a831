#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace lpa::log {

// Sets up the process logger ("lpa", to stderr) at `level` (trace|debug|info|warn|error).
void setup(const std::string& service_name, const std::string& level);

// The logger for work done on behalf of a request: the process logger, or, when the client
// asked for `log_level: debug`, a twin writing to the same sink at debug level (that request
// only).
spdlog::logger& for_request(bool debug);

} // namespace lpa::log
