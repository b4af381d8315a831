#pragma once

#include "actors/actor_probe.hpp"
#include "actors/repo/protocol.hpp"
#include "actors/repo/repo_metrics.hpp"
#include "actors/tracing/span.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lpa {

struct repo_actor_settings {
  db::store_settings store;
  std::chrono::milliseconds key_retention{std::chrono::hours{24}};
  size_t group_commit_max = 64; // writes per transaction
  size_t expire_batch = 1000;   // idempotency keys deleted per statement
  size_t expire_rounds = 10;    // statements per expiry tick, so writes never wait long
  tracing::tracer_ptr tracer;   // spans of each call and statement, under the rpc's span
  repo_metrics_ptr metrics;
};

// A write in the RepoActor's current group, waiting for the COMMIT.
struct queued_write {
  request_meta meta;
  db::write_command cmd;
  caf::typed_response_promise<uint64_t> promise;
  std::optional<tracing::span> span; // its call at this RepoActor, when its rpc is traced
};

struct repo_actor_state {
  // However the actor ends (connection lost, killed), the writes still waiting in its group are
  // answered `unavailable`: a promise that dies undelivered would leave its caller waiting.
  ~repo_actor_state();

  std::string actor_name; // e.g. "repo-writer-1", "repo-reader-1": shows in logs
  repo_actor_settings settings;
  std::unique_ptr<db::package_store> store;
  actor_probe_ptr probe; // inspection metrics, labelled with actor_name
  std::vector<queued_write> group;
  static inline const char* name = "repo_actor";
};

// Owns one PostgreSQL connection and blocks on it, so it must be spawned detached. Connects on
// start; when the connection breaks it answers `unavailable` and quits, and its supervisor
// starts a fresh one.
//
// Group commit: a write joins the current group, and the first write of a group sends the actor
// a commit message, which queues behind every write already in the mailbox. So the writes that
// arrived while the previous transaction ran share the next one (up to group_commit_max).
//
// Tracing (when exporting, for sampled rpcs): each call is a span `repo.<op>` under its rpc's
// span, from the supervisor's hand-over (queue wait included) to the answer; each statement a
// CLIENT span `SQL <name>` under the call it ran for. A group's transaction belongs to several
// traces: its span `repo.transaction` (with the statements BEGIN and COMMIT) is in the trace of the
// group's first traced write and links to the call span of every other write, which links back.
repo_actor::behavior_type repo_actor_impl(repo_actor::stateful_pointer<repo_actor_state> self,
                                          std::string name, repo_actor_settings settings,
                                          actor_probe_ptr probe);

} // namespace lpa
