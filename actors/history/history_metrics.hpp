#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

namespace lpa::history {

// package-history's own metrics, served on history.metrics_port at /metrics beside the actor
// inspection metrics.
struct history_metrics {
  explicit history_metrics(prometheus::Registry& registry);

  prometheus::Counter& records_consumed;  // read from Kafka
  prometheus::Gauge& records_in_flight;   // consumed, not yet committed
  prometheus::Gauge& partitions_paused;   // 1 while the consumer is out of credit
  prometheus::Counter& pauses;            // times it ran out of credit
  prometheus::Gauge& consumer_lag;        // records behind the partitions' high watermarks
  prometheus::Counter& rebalances;        // partitions assigned or revoked
  prometheus::Gauge& partitions_assigned; // partitions this consumer holds
  prometheus::Counter& events_recorded;   // new history_event rows
  prometheus::Counter& states_applied;    // package_state moved forward (per transaction)
  prometheus::Counter& duplicates_batch;  // records collapsed before writing
  prometheus::Counter& duplicates_stored; // events already in the history database
  prometheus::Counter& reorders;          // new events at or below their package's applied seq
  prometheus::Counter& gaps;              // gaps given up on after history.gap_hold
  prometheus::Gauge& events_held;         // events waiting behind a gap
  prometheus::Counter& rejected;          // records kept in history_rejected
  prometheus::Counter& db_errors;         // failed transactions (retried)
  prometheus::Counter& kafka_errors;      // consumer errors (librdkafka retries)
  prometheus::Counter& pruned;            // history rows deleted by retention
  prometheus::Histogram& batch_size;      // events per transaction
  prometheus::Histogram& commit_seconds;  // per transaction
};

using metrics_ptr = std::shared_ptr<history_metrics>;

} // namespace lpa::history
