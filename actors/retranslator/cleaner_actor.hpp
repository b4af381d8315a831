#pragma once

#include "actors/actor_probe.hpp"
#include "actors/retranslator/pipeline_metrics.hpp"
#include "actors/retranslator/protocol.hpp"
#include "actors/supervision.hpp"

#include <functional>

namespace lpa {

struct cleaner_settings {
  size_t batch = 100;        // flush at this many events (and at most this many per statement) ...
  milliseconds interval{10}; // ... or this long after the first one waits
  milliseconds backoff_min{100}; // between attempts after a failed flush
  milliseconds backoff_max{10000};
  uint32_t max_attempts = 5; // then the waiters get an error and ask again themselves
};

// Deletes delivered events in one statement (a db::outbox_session in production, a fake in unit
// tests); see db::outbox_store::delete_delivered.
using delete_fn = std::function<db::delete_result(const std::vector<db::delivered_event>&)>;

// Batches the consumers' delete requests: statements of at most `batch` events for everything
// waiting, flushed by size or timer; each request is answered once the statement that applied it
// committed. It blocks on PostgreSQL: detached in production.
cleaner_actor spawn_cleaner(caf::actor_system& sys, spawn_mode mode, cleaner_settings settings,
                            delete_fn apply, metrics_ptr metrics, actor_probe_ptr probe);

} // namespace lpa
