#pragma once

#include <functional>
#include <string>

namespace lpa {

// The YAML file to read: --config PATH, else $LPA_CONFIG, else config/config.yaml.
std::string config_path(int argc, char** argv);

// Blocks SIGINT and SIGTERM in the calling thread; call it first in main, before any thread
// exists, so every thread (gRPC's, CAF's, librdkafka's) inherits the mask. Returns a function
// that waits for one of them and returns its number.
std::function<int()> block_stop_signals();

} // namespace lpa
