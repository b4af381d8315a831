#pragma once

#include <caf/actor_system_config.hpp>

namespace lpa {

// Every process runs CAF's work-sharing scheduler: idle scheduler threads block on a condition
// variable. CAF's default, work stealing, polls for work every 50 us while idle, which took two
// thirds of the API's CPU under 8 sequential clients and half the retranslator's CPU per event
// while draining (perf, per-process CPU), on cores PostgreSQL and Kafka need.
void use_work_sharing_scheduler(caf::actor_system_config& cfg);

} // namespace lpa
