#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace lpa {

// The retranslator's own metrics, served on retranslator.metrics_port at /metrics.
struct pipeline_metrics {
  explicit pipeline_metrics(prometheus::Registry& registry);

  prometheus::Gauge& events_in_flight; // read, not yet deleted or released (name kept)
  prometheus::Counter& events_sent;
  prometheus::Counter& events_failed;   // refused for good (sent again after a backoff)
  prometheus::Counter& events_retried;  // sent again, after a failure or a restart
  prometheus::Counter& events_released; // handed back unsent, to be read again
  prometheus::Histogram& batch_size;
  prometheus::Histogram& send_latency;
  prometheus::Histogram& commit_to_ack;
  prometheus::Gauge& oldest_event_age;
  prometheus::Gauge& slots_owned;
  prometheus::Gauge& relays_live;
  prometheus::Counter& slot_takeovers;
  prometheus::Counter& producer_resets;
  prometheus::Counter& kafka_errors;
  prometheus::Counter& db_errors;
};

using metrics_ptr = std::shared_ptr<pipeline_metrics>;

} // namespace lpa
