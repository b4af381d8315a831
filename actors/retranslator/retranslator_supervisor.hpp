#pragma once

#include "actors/actor_probe.hpp"
#include "actors/retranslator/pipeline_metrics.hpp"
#include "actors/retranslator/protocol.hpp"
#include "actors/tracing/span.hpp"
#include "config/settings.hpp"

#include <memory>
#include <string>
#include <vector>

namespace lpa {

using retranslator_supervisor_actor = caf::typed_actor<
    caf::reacts_to<restage_atom, uint64_t, uint64_t>, // stage, generation (its own timer)
    // Clean stop: stop reading, wait for in-flight events up to the shutdown deadline, release
    // every slot, stop every stage; answers, then quits normally.
    caf::replies_to<drain_atom>::with<bool>,
    // The stages running now, by name, for inspection and fault injection.
    caf::replies_to<caf::get_atom>::with<std::vector<std::string>, std::vector<caf::actor>>>;

struct retranslator_plan {
  settings cfg;
  std::string relay; // this process's retranslator id: host, pid and a random part
  metrics_ptr metrics;
  std::shared_ptr<actor_probes> probes;
  tracing::tracer_ptr tracer; // the sender's batch spans
};

// Spawns and supervises every stage (one-for-one, monitored, restarts with backoff), rewires
// the others when a handle changes, makes the consumers send again what a dead producer or
// sender held, and gives up (quits with the stage's error, so the process exits non-zero) after
// more than restart_max restarts within restart_window.
retranslator_supervisor_actor spawn_retranslator_supervisor(caf::actor_system& sys,
                                                            retranslator_plan plan);

} // namespace lpa
