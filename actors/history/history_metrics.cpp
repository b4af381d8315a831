#include "actors/history/history_metrics.hpp"

#include "actors/metric_helpers.hpp"

namespace lpa::history {

history_metrics::history_metrics(prometheus::Registry& r)
    : records_consumed(counter(r, "logistic_package_api_history_records_consumed_total",
                               "Records read from Kafka")),
      records_in_flight(gauge(r, "logistic_package_api_history_records_in_flight",
                              "Records consumed and not yet committed to the history database")),
      partitions_paused(gauge(r, "logistic_package_api_history_partitions_paused",
                              "1 while the consumer is out of credit and its partitions pause")),
      pauses(counter(r, "logistic_package_api_history_pauses_total",
                     "Times the consumer ran out of credit and paused its partitions")),
      consumer_lag(gauge(r, "logistic_package_api_history_consumer_lag_records",
                         "Records between the consumer's position and the high watermarks of "
                         "its partitions")),
      rebalances(counter(r, "logistic_package_api_history_rebalances_total",
                         "Partition assignments and revocations")),
      partitions_assigned(gauge(r, "logistic_package_api_history_partitions_assigned",
                                "Partitions of the topic this consumer holds")),
      events_recorded(counter(r, "logistic_package_api_history_events_recorded_total",
                              "New history_event rows")),
      states_applied(counter(r, "logistic_package_api_history_events_applied_total",
                             "Package states moved forward (once per package and transaction)")),
      duplicates_batch(counter(r, "logistic_package_api_history_duplicates_in_batch_total",
                               "Records of an event already in the batch, collapsed before "
                               "writing")),
      duplicates_stored(counter(r, "logistic_package_api_history_duplicates_stored_total",
                                "Events already in the history database (ON CONFLICT DO "
                                "NOTHING)")),
      reorders(counter(r, "logistic_package_api_history_reorders_total",
                       "New events at or below their package's applied seq: recorded, state "
                       "kept")),
      gaps(counter(r, "logistic_package_api_history_gaps_total",
                   "Gaps in a package's seq given up on after history.gap_hold")),
      events_held(
          gauge(r, "logistic_package_api_history_events_held", "Events waiting behind a gap")),
      rejected(counter(r, "logistic_package_api_history_records_rejected_total",
                       "Records that cannot be applied, kept in history_rejected")),
      db_errors(counter(r, "logistic_package_api_history_db_errors_total",
                        "History database transactions that failed "
                        "(retried after a backoff)")),
      kafka_errors(counter(r, "logistic_package_api_history_kafka_errors_total",
                           "Errors the Kafka consumer reported")),
      pruned(counter(r, "logistic_package_api_history_events_pruned_total",
                     "history_event rows deleted after history.retention_days")),
      batch_size(histogram(r, "logistic_package_api_history_batch_size",
                           "Events per history transaction",
                           {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000})),
      commit_seconds(histogram(r, "logistic_package_api_history_commit_seconds",
                               "Duration of a history transaction", latency_buckets)) {}

} // namespace lpa::history
