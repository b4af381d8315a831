#pragma once

#include "actors/history/api/history_api_protocol.hpp"
#include "actors/supervision.hpp"

#include <atomic>
#include <memory>

namespace lpa::history_api {

struct reader_pool_settings {
  db::store_settings store; // the history database
  int readers = 2;
  milliseconds backoff_min{10};
  milliseconds backoff_max{1000};
  milliseconds health_interval{1000};
  std::shared_ptr<actor_probes> probes; // inspection metrics of the readers and the supervisor
};

// Written by the supervisor, read by whoever reports readiness.
struct reader_health {
  std::atomic<bool> db_answering{false};
};

struct supervisor_state {
  // However the supervisor ends, its readers end with it.
  ~supervisor_state();

  reader_pool_settings settings;
  std::shared_ptr<reader_health> health;
  child_table<in_flight_load> children; // reads go to the least busy
  actor_probe_ptr probe;
  size_t turn = 0; // for least_busy
  static inline const char* name = "history_reader_supervisor";
};

// Starts the readers (detached, each with its own connection to the history database), sends
// every read to the reader with the fewest reads waiting, and restarts a reader that dies with
// exponential backoff and without limit: while the database is down, reads are answered
// `unavailable` at once. Reads in flight on a dead reader are answered `unavailable` as soon as
// its death is known. Pings a reader every health_interval for readiness.
supervisor_actor::behavior_type
reader_supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
                  reader_pool_settings settings, std::shared_ptr<reader_health> health);

} // namespace lpa::history_api
