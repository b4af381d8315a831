#pragma once

#include "actors/actor_probe.hpp"
#include "actors/history/history_metrics.hpp"
#include "actors/history/protocol.hpp"
#include "actors/tracing/span.hpp"
#include "db/connection.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace lpa::history {

struct writer_settings {
  std::string name; // "writer-1", ...
  db::store_settings store;
  size_t batch_max = 500;
  std::chrono::milliseconds gap_hold{2000};
  std::chrono::milliseconds retry_backoff_min{100};
  std::chrono::milliseconds retry_backoff_max{5000};
};

// Applies batches to the history database with its own connection, one transaction per batch
// of up to batch_max events (everything that arrived meanwhile, see sequencer), and reports the
// committed records to the consumer. When the database fails, it keeps what it holds and tries
// again after an exponential backoff, reconnecting: nothing is skipped, and the consumer runs
// out of credit and pauses. Each transaction is a CONSUMER span linked to the trace of each of its
// events, and a debug line lists those trace ids. `db_ok` tells /ready whether the last
// transaction went through. Spawned detached: libpqxx blocks.
writer_actor spawn_writer(caf::actor_system& sys, writer_settings settings, metrics_ptr metrics,
                          actor_probe_ptr probe, tracing::tracer_ptr tracer,
                          std::shared_ptr<std::atomic<bool>> db_ok);

} // namespace lpa::history
