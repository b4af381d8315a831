#include "actors/scheduler.hpp"

#include <caf/atom.hpp>

namespace lpa {

void use_work_sharing_scheduler(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("sharing"));
}

} // namespace lpa
