#pragma once

#include "actors/actor_probe.hpp"
#include "actors/repo/protocol.hpp"

#include <memory>
#include <string>

namespace lpa {

struct repo_actor_state {
  std::string actor_name; // e.g. "repo-writer", "repo-reader-1": shows in logs
  std::unique_ptr<db::package_store> store;
  actor_probe_ptr probe; // inspection metrics, labelled with actor_name
  static inline const char* name = "repo_actor";
};

// Owns one PostgreSQL connection and blocks on it, so it must be spawned detached. Connects on
// start; when the connection breaks it answers `unavailable` and quits, and its supervisor
// starts a fresh one.
repo_actor::behavior_type repo_actor_impl(repo_actor::stateful_pointer<repo_actor_state> self,
                                          std::string name, db::store_settings settings,
                                          actor_probe_ptr probe);

} // namespace lpa
