#pragma once

#include <prometheus/exposer.h>

#include <memory>
#include <string>

namespace lpa {

// Threads and the per-request timeout of every HTTP endpoint (metrics, status): enough threads
// that a few idle or slow clients cannot stall a scrape or a health probe, and a timeout that
// frees a thread held by a client that sends nothing.
inline constexpr const char* http_threads = "8";
inline constexpr const char* http_request_timeout_ms = "5000";

// The Prometheus /metrics endpoint of a process, listening on host:port (port 0 picks one).
std::unique_ptr<prometheus::Exposer> make_metrics_endpoint(const std::string& host, int port);

} // namespace lpa
