#pragma once

#include "actors/actor_probe.hpp"
#include "actors/restart_policy.hpp"
#include "actors/retranslator/pipeline_metrics.hpp"
#include "actors/retranslator/protocol.hpp"
#include "actors/tracing/span.hpp"

#include <string>

namespace lpa {

struct sender_settings {
  std::string brokers;
  std::string topic;
  int partitions = 6;          // used when the sender creates the topic
  size_t queue_limit = 100000; // librdkafka queue.buffering.max.messages (>= the window)
};

// Owns the librdkafka producer: idempotent (acks=all), gap-less, and messages never time out
// locally, so while Kafka is down they wait in librdkafka (bounded by the window) and go out in
// order once it is back. It produces batches strictly in arrival order and polls the producer from
// a timer, so delivery reports run on its own thread. A record that fails (Kafka refused it for
// good, or it was lost with a producer that failed fatally) marks its slot's round as failed:
// later records of that round are not produced but released, so nothing of a slot passes it. So
// does a gap in a round's indexes (a batch lost on the way with a stage that died). A
// fatal producer error (the gap-less guarantee is one) replaces the producer in place. Each
// batch is a PRODUCER span linked to the trace of each of its events (their traceparent header),
// and a debug line lists those trace ids. Spawn detached: produce() and flush() may block.
sender_actor spawn_sender(caf::actor_system& sys, sender_settings settings, metrics_ptr metrics,
                          actor_probe_ptr probe, tracing::tracer_ptr tracer);

} // namespace lpa
