#pragma once

#include "actors/actor_probe.hpp"
#include "actors/retranslator/protocol.hpp"

namespace lpa {

// Encodes a consumer's batch into Kafka records (protobuf value, key, headers) and delegates it
// to the sender, which answers the consumer directly. A consumer always uses the same producer,
// so its batches reach the sender in the order it read them.
producer_actor spawn_producer(caf::actor_system& sys, actor_probe_ptr probe);

} // namespace lpa
