#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace lpa {

// The retranslator's own metrics, served on retranslator.metrics_port at /metrics.
struct pipeline_metrics {
  explicit pipeline_metrics(prometheus::Registry& registry);

  prometheus::Gauge& events_in_flight; // claimed, not yet deleted or released (name kept)
  prometheus::Counter& events_sent;
  prometheus::Counter& events_failed;
  prometheus::Counter& events_retried;
  prometheus::Counter& events_released;
  prometheus::Histogram& batch_size;
  prometheus::Histogram& send_latency;
  prometheus::Histogram& commit_to_ack;
  prometheus::Gauge& oldest_event_age;
};

} // namespace lpa
