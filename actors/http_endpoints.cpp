#include "actors/http_endpoints.hpp"

namespace lpa {

std::unique_ptr<prometheus::Exposer> make_metrics_endpoint(const std::string& host, int port) {
  return std::make_unique<prometheus::Exposer>(
      std::vector<std::string>{"listening_ports", host + ":" + std::to_string(port), "num_threads",
                               http_threads, "request_timeout_ms", http_request_timeout_ms});
}

} // namespace lpa
