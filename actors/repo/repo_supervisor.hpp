#pragma once

#include "actors/repo/protocol.hpp"
#include "actors/repo/repo_actor.hpp"
#include "actors/supervision.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace lpa {

struct repo_pool_settings {
  repo_actor_settings actor;
  int writers = 2;
  int readers = 2;
  // Requests waiting for the writers (or for the readers) at most; beyond, refused at once.
  size_t write_queue = 256;
  size_t read_queue = 256;
  milliseconds backoff_min{10};
  milliseconds backoff_max{1000};
  milliseconds health_interval{1000};
  milliseconds key_expiry_interval{60000};
  std::shared_ptr<actor_probes> probes; // inspection metrics of every RepoActor and the supervisor

  // How long past its deadline a write's outcome is awaited: a write that started runs to its
  // COMMIT or rollback, whose answer must not be replaced by a timeout.
  milliseconds write_answer_grace() const {
    return actor.store.statement_timeout + std::chrono::seconds{1};
  }
};

// Written by the supervisor, read by the status endpoint (/ready).
struct repo_health {
  std::atomic<bool> db_answering{false};
  std::atomic<uint64_t> restarts{0};
};

struct repo_supervisor_state {
  // However the supervisor ends (shutdown, kill, exception), its RepoActors end with it.
  ~repo_supervisor_state();

  repo_pool_settings settings;
  std::shared_ptr<repo_health> health;
  child_table<in_flight_load> children; // writers, then readers; requests go to the least busy
  actor_probe_ptr probe;                // the supervisor's own inspection metrics
  size_t next_writer = 0;
  size_t next_reader = 0;
  static inline const char* name = "repo_supervisor";
};

// Starts the RepoActors (detached, each with its own connection), routes every request to a
// writer or a reader (refusing it with `overloaded` when that kind's queue is full), and restarts a
// RepoActor that dies, with exponential backoff and without limit: while PostgreSQL is down,
// requests are answered `unavailable` at once. Requests that were in flight on a dead RepoActor are
// answered `unavailable` as soon as its death is known.
repo_supervisor_actor::behavior_type
repo_supervisor(repo_supervisor_actor::stateful_pointer<repo_supervisor_state> self,
                repo_pool_settings settings, std::shared_ptr<repo_health> health);

} // namespace lpa
