#pragma once

#include "actors/actor_probe.hpp"
#include "actors/restart_policy.hpp"
#include "actors/retranslator/pipeline_metrics.hpp"
#include "actors/retranslator/protocol.hpp"

namespace lpa {

// LISTENs on the channel the outbox trigger NOTIFYs and wakes the consumers; samples the oldest
// event's age every `sample_interval`. Wakes are coalesced: a consumer gets one wake and no
// other until it answered, however many NOTIFYs came meanwhile, so its mailbox does not grow
// with the write rate. Blocks on PostgreSQL: detached.
listener_actor spawn_listener(caf::actor_system& sys, db::store_settings store,
                              milliseconds sample_interval, metrics_ptr metrics,
                              actor_probe_ptr probe);

} // namespace lpa
