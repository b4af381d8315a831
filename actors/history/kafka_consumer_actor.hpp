#pragma once

#include "actors/actor_probe.hpp"
#include "actors/history/history_metrics.hpp"
#include "actors/history/protocol.hpp"

#include <string>

namespace lpa::history {

struct consumer_settings {
  std::string brokers;
  std::string topic;
  std::string group;
  size_t window = 5000;   // records in flight at most
  size_t batch_max = 500; // records read per poll at most
};

// Owns librdkafka's high-level consumer (group `group`, cooperative-sticky assignment,
// enable.auto.offset.store=false) and polls it from a self-timer, so rebalance callbacks run on
// its own thread. Each record is decoded and routed to writer package id % writers; a record
// that does not decode goes to writer partition % writers to be kept in history_rejected. A
// partition's offset is stored (offset + 1, committed by librdkafka's auto-commit) only once
// every record below it was committed by a writer. Out of credit (window records in flight), it
// pauses every assigned partition; with half the window free again it seeks each to the record
// after the last one it consumed (a pause drops prefetched records) and resumes. While a writer
// is down it reads nothing. Spawned detached: librdkafka's close and seeks block.
consumer_actor spawn_kafka_consumer(caf::actor_system& sys, consumer_settings settings,
                                    metrics_ptr metrics, actor_probe_ptr probe);

} // namespace lpa::history
