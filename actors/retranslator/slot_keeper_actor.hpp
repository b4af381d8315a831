#pragma once

#include "actors/actor_probe.hpp"
#include "actors/restart_policy.hpp"
#include "actors/retranslator/pipeline_metrics.hpp"
#include "actors/retranslator/protocol.hpp"

#include <functional>
#include <string>

namespace lpa {

struct slot_keeper_settings {
  std::string relay;                    // this process's retranslator id
  milliseconds lease{10000};            // slot leases and the heartbeat last this long (DB clock)
  milliseconds tick{1000};              // heartbeat period (at most lease / 3)
  milliseconds handover_timeout{10000}; // a slot given up is released after this at the latest
};

// The slot lease table as the keeper uses it (a db::outbox_session in production).
struct slot_leases {
  std::function<db::membership(const std::string& relay, milliseconds lease)> heartbeat;
  std::function<db::acquired_slots(const std::string& relay, size_t count, milliseconds lease)>
      acquire;
  std::function<size_t(const std::string& relay, const std::vector<db::slot_lease>&)> release;
  std::function<void(const std::string& relay)> leave;
};

// Keeps this process's share of the slots: heartbeats and lease renewal every tick, takes free
// or expired slots up to ceil(slots / live retranslators), hands surplus slots over when others
// join (once their consumer has nothing of them in flight, or after handover_timeout), and tells
// each consumer which slots to read (slot % consumers). A slot it learns it lost (taken over
// after its lease expired, e.g. while this process was frozen) is dropped at once. Blocks on
// PostgreSQL: detached.
slot_keeper_actor spawn_slot_keeper(caf::actor_system& sys, slot_keeper_settings settings,
                                    slot_leases leases, metrics_ptr metrics, actor_probe_ptr probe);

} // namespace lpa
