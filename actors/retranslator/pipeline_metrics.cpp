#include "actors/retranslator/pipeline_metrics.hpp"

namespace lpa {

namespace {

prometheus::Counter& counter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

prometheus::Gauge& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Histogram& histogram(prometheus::Registry& r, const char* name, const char* help,
                                 prometheus::Histogram::BucketBoundaries buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, buckets);
}

const prometheus::Histogram::BucketBoundaries latency_buckets{
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

} // namespace

pipeline_metrics::pipeline_metrics(prometheus::Registry& r)
    : events_in_flight(gauge(r, "logistic_package_api_retranslator_events_processing",
                             "Events claimed and not yet deleted or released")),
      events_sent(counter(r, "logistic_package_api_retranslator_events_sent_total",
                          "Events Kafka acknowledged")),
      events_failed(counter(r, "logistic_package_api_retranslator_events_failed_total",
                            "Events whose delivery failed for good (they are released)")),
      events_retried(counter(r, "logistic_package_api_retranslator_events_retried_total",
                             "Events produced again after a transient Kafka failure")),
      events_released(counter(r, "logistic_package_api_retranslator_events_released_total",
                              "Events handed back to the outbox unsent")),
      batch_size(histogram(r, "logistic_package_api_retranslator_batch_size",
                           "Events per claimed batch", {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000})),
      send_latency(histogram(r, "logistic_package_api_retranslator_send_latency_seconds",
                             "From handing a batch to Kafka to its last delivery report",
                             latency_buckets)),
      commit_to_ack(histogram(r, "logistic_package_api_retranslator_commit_to_ack_seconds",
                              "From the event's commit to its deletion after Kafka's ack"
                              " (DB clock; includes cleaner batching)",
                              latency_buckets)),
      oldest_event_age(gauge(r, "logistic_package_api_retranslator_oldest_event_age_seconds",
                             "Age of the oldest event still in the outbox (DB clock)")) {}

} // namespace lpa
