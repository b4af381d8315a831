#pragma once

#include "actors/retranslator/pipeline.hpp"
#include "actors/supervision.hpp"
#include "config/settings.hpp"

#include <string>
#include <vector>

namespace lpa {

using retranslator_supervisor_actor = caf::typed_actor<
    caf::reacts_to<restage_atom, uint64_t, uint64_t>, // slot, generation (its own timer)
    // Clean stop: stop claiming, wait for in-flight events up to the shutdown deadline, release
    // the rest, stop every stage; answers, then quits normally.
    caf::replies_to<drain_atom>::with<bool>,
    // The stages running now, by name, for inspection and fault injection.
    caf::replies_to<caf::get_atom>::with<std::vector<std::string>, std::vector<caf::actor>>>;

struct retranslator_plan {
  settings cfg;
  std::string instance; // unique per process: host, pid and a random part
  metrics_ptr metrics;
  std::shared_ptr<actor_probes> probes;
};

enum class stage_kind { cleaner, sender, producer, consumer, listener };

// What the supervisor keeps per stage besides supervision.
struct stage_info {
  stage_kind kind = stage_kind::cleaner;
  std::string owner;                               // consumers: locked_by of this incarnation
  std::shared_ptr<std::atomic<int64_t>> in_flight; // consumers: events they hold
};

struct retranslator_supervisor_state {
  ~retranslator_supervisor_state(); // stages end with their supervisor, however it ends

  retranslator_plan plan;
  child_table<stage_info> stages; // restart_max within restart_window, all stages together
  bool stopping = false;
  static inline const char* name = "retranslator_supervisor";
};

// Spawns and supervises every stage (one-for-one, monitored, restarts with backoff), rewires
// the others when a handle changes, releases a dead consumer's events at once, and gives up
// (quits with the stage's error, so the process exits non-zero) after too many restarts.
retranslator_supervisor_actor::behavior_type retranslator_supervisor(
    retranslator_supervisor_actor::stateful_pointer<retranslator_supervisor_state> self,
    retranslator_plan plan);

} // namespace lpa
