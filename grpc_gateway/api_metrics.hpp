#pragma once

#include "grpc_gateway/status_names.hpp"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <grpcpp/support/status.h>

#include <chrono>
#include <memory>
#include <string>

namespace lpa {

// The API server's metrics, served on metrics.port at /metrics.
class api_metrics {
public:
  explicit api_metrics(std::shared_ptr<prometheus::Registry> registry);

  // One finished rpc: counts it by method and status code and observes its latency. Keeps the
  // replaced service's counters: not_found_total and cud_event_total (successful writes).
  void record(const std::string& method, grpc::StatusCode code, std::chrono::nanoseconds latency,
              bool is_write);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter& not_found_;
  prometheus::Counter& cud_events_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
};

} // namespace lpa
