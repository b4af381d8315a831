#pragma once

#include "actors/actor_probe.hpp"
#include "actors/history/history_metrics.hpp"
#include "actors/history/protocol.hpp"
#include "actors/tracing/span.hpp"
#include "config/settings.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace lpa::history {

using history_supervisor_actor = caf::typed_actor<
    caf::reacts_to<restage_atom, uint64_t, uint64_t>, // stage, generation (its own timer)
    // Clean stop: every stage stops (the consumer commits its stored offsets and leaves the
    // group); answers, then quits normally.
    caf::replies_to<drain_atom>::with<bool>,
    // The stages running now, by name, for inspection and fault injection.
    caf::replies_to<caf::get_atom>::with<std::vector<std::string>, std::vector<caf::actor>>>;

struct history_plan {
  settings cfg;
  metrics_ptr metrics;
  std::shared_ptr<actor_probes> probes;
  tracing::tracer_ptr tracer;               // the writers' batch spans
  std::shared_ptr<std::atomic<bool>> db_ok; // the writers' last transaction went through
};

// Spawns and supervises the consumer, history.writers writers and (with retention_days > 0) the
// pruner: one-for-one, monitored, restarted with backoff; the consumer always has the current
// writers, and reads again what was in flight when a writer died. Gives up (quits with the
// stage's error, so the process exits non-zero) after more than history.restart_max restarts
// within history.restart_window.
history_supervisor_actor spawn_history_supervisor(caf::actor_system& sys, history_plan plan);

} // namespace lpa::history
