#pragma once

#include "actors/actor_probe.hpp"
#include "actors/history/api/history_api_protocol.hpp"

#include <memory>
#include <string>

namespace lpa::history_api {

struct reader_state {
  std::string actor_name; // e.g. "history-reader-1": shows in logs and metrics
  std::unique_ptr<db::history_read_store> store;
  actor_probe_ptr probe;
  static inline const char* name = "history_reader";
};

// Owns one connection to the history database and blocks on it, so it must be spawned detached.
// Connects on start; when the connection breaks it answers `unavailable` and quits, and its
// supervisor starts a fresh one.
reader_actor::behavior_type reader(reader_actor::stateful_pointer<reader_state> self,
                                   std::string name, db::store_settings store,
                                   actor_probe_ptr probe);

} // namespace lpa::history_api
