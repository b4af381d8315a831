#pragma once

#include "actors/actor_probe.hpp"
#include "actors/history/history_metrics.hpp"
#include "actors/history/protocol.hpp"
#include "db/connection.hpp"

#include <chrono>

namespace lpa::history {

struct pruner_settings {
  db::store_settings store;
  int retention_days = 0;
  size_t slice = 10000;                        // rows per DELETE
  std::chrono::milliseconds interval{3600000}; // between rounds
};

// Retention of the history and of the seen event ids with it: deletes history_event rows
// recorded more than retention_days ago, a slice per statement, one round per interval. A
// failure waits for the next round. Spawned detached: libpqxx blocks.
pruner_actor spawn_pruner(caf::actor_system& sys, pruner_settings settings, metrics_ptr metrics,
                          actor_probe_ptr probe);

} // namespace lpa::history
