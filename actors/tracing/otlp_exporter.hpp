#pragma once

#include "actors/tracing/span.hpp"
#include "config/settings.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace prometheus {
class Counter;
class Registry;
} // namespace prometheus

namespace lpa::tracing {

struct exporter_settings {
  std::string endpoint;     // http(s)://host[:port][/prefix]; spans go to <endpoint>/v1/traces
  std::string service_name; // resource attribute service.name
  size_t queue_size = 2048; // spans waiting to be sent; more are dropped
  size_t batch_size = 512;  // spans per request
  std::chrono::milliseconds flush_interval{1000}; // a partial batch waits at most this long
  std::chrono::milliseconds timeout{5000};        // connect, read and write timeout of a request
  std::chrono::milliseconds retry_backoff_min{100};
  std::chrono::milliseconds retry_backoff_max{5000};
  int max_attempts = 5; // per batch, on 429/502/503/504 or no answer
};

// Where an endpoint's spans go: origin "scheme://host:port" (port 4318 when the endpoint names
// none) and path "<the endpoint's path>/v1/traces". Throws std::invalid_argument unless the
// endpoint is an http:// or https:// URL.
struct otlp_target {
  std::string origin;
  std::string path;
};
otlp_target traces_target(const std::string& endpoint);

// Sends finished spans over OTLP/HTTP with JSON bodies. enqueue() never blocks on the network:
// it adds to a bounded queue (a full queue drops the span and counts it), and a background thread
// posts batches, retrying with exponential backoff only where OTLP allows (429, 502, 503, 504,
// or no answer at all). Other answers fail the batch at once; lost batches are logged at warn
// level, at most every 30 s with a count. Its counters, on `registry`:
//   logistic_package_api_tracing_spans_exported_total  accepted by the collector;
//   logistic_package_api_tracing_spans_dropped_total   the queue was full;
//   logistic_package_api_tracing_spans_failed_total    refused, or retries exhausted.
// The destructor sends what is queued (one attempt per batch) and stops the thread.
class otlp_exporter {
public:
  otlp_exporter(exporter_settings settings, prometheus::Registry& registry);
  ~otlp_exporter();

  otlp_exporter(const otlp_exporter&) = delete;
  otlp_exporter& operator=(const otlp_exporter&) = delete;

  void enqueue(span_data span);

private:
  void run();
  void send(const std::vector<span_data>& batch);
  void report_failure(size_t spans, const std::string& outcome, int attempts);
  // Waits `delay` unless stopping; false when stopping.
  bool pause(std::chrono::milliseconds delay);

  const exporter_settings settings_;
  prometheus::Counter& exported_;
  prometheus::Counter& dropped_;
  prometheus::Counter& failed_;
  const otlp_target target_;
  size_t failures_since_report_ = 0; // the exporter's thread only
  std::chrono::steady_clock::time_point next_failure_report_{};

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<span_data> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

// The exporter settings of the tracing section, for a process reporting as `service_name`.
exporter_settings exporter_settings_of(const settings::tracing_t& cfg, std::string service_name);

// The exporter the settings ask for: none when the endpoint is empty (tracing off).
std::shared_ptr<otlp_exporter> make_exporter(const exporter_settings& settings,
                                             prometheus::Registry& registry);

} // namespace lpa::tracing
