#include "actors/retranslator/pipeline_metrics.hpp"

#include "actors/metric_helpers.hpp"

namespace lpa {

pipeline_metrics::pipeline_metrics(prometheus::Registry& r)
    : events_in_flight(gauge(r, "logistic_package_api_retranslator_events_processing",
                             "Events read from the outbox and not yet deleted or released")),
      events_sent(counter(r, "logistic_package_api_retranslator_events_sent_total",
                          "Events Kafka acknowledged")),
      events_failed(counter(r, "logistic_package_api_retranslator_events_failed_total",
                            "Events Kafka refused for good (sent again after a backoff)")),
      events_retried(counter(r, "logistic_package_api_retranslator_events_retried_total",
                             "Events sent again because their slot restarted from an earlier "
                             "event (after a failure, a restart or a takeover)")),
      events_released(counter(r, "logistic_package_api_retranslator_events_released_total",
                              "Events handed back unsent after a failed send (read again)")),
      batch_size(histogram(r, "logistic_package_api_retranslator_batch_size",
                           "Events per batch read from the outbox",
                           {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000})),
      send_latency(histogram(r, "logistic_package_api_retranslator_send_latency_seconds",
                             "From handing a batch to Kafka to its last delivery report",
                             latency_buckets)),
      commit_to_ack(histogram(r, "logistic_package_api_retranslator_commit_to_ack_seconds",
                              "From the event's commit to its deletion after Kafka's ack"
                              " (DB clock; includes cleaner batching)",
                              latency_buckets)),
      oldest_event_age(gauge(r, "logistic_package_api_retranslator_oldest_event_age_seconds",
                             "Age of the oldest event still in the outbox (DB clock)")),
      slots_owned(gauge(r, "logistic_package_api_retranslator_slots_owned",
                        "Slots this retranslator holds a lease on")),
      relays_live(gauge(r, "logistic_package_api_retranslator_relays_live",
                        "Retranslators alive on this database (heartbeats not expired)")),
      slot_takeovers(counter(r, "logistic_package_api_retranslator_slot_takeovers_total",
                             "Slots taken over from another retranslator whose lease expired")),
      producer_resets(counter(r, "logistic_package_api_retranslator_producer_resets_total",
                              "Kafka producers replaced after a fatal error")),
      kafka_errors(counter(r, "logistic_package_api_retranslator_kafka_errors_total",
                           "Errors the Kafka client reported (broker down, connection lost)")),
      db_errors(counter(r, "logistic_package_api_retranslator_db_errors_total",
                        "Failed PostgreSQL statements (connection lost included)")) {}

} // namespace lpa
