#pragma once

#include "actors/actor_probe.hpp"
#include "actors/retranslator/pipeline_metrics.hpp"
#include "actors/retranslator/protocol.hpp"
#include "actors/supervision.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace lpa {

struct consumer_settings {
  std::string name;      // e.g. "consumer-1"
  std::string relay;     // this process's retranslator id: the owner of its slot leases
  size_t credit = 500;   // events in flight at most: its share of retranslator.window
  size_t per_slot = 100; // events read from one slot at a time (retranslator.batch_size)
  milliseconds poll_interval{1000};
  milliseconds read_interval{0}; // reads at most once per interval (0: as often as woken)
  milliseconds backoff_min{100}; // a slot whose event Kafka refused waits this long, doubling
  milliseconds backoff_max{10000};
  milliseconds clean_timeout{30000}; // a delete request not answered by then is asked again
};

// Reads events of the given slots (a db::outbox_session in production, a fake in unit tests);
// see db::outbox_store::read.
using read_fn = std::function<std::vector<db::outbox_event>(
    const std::vector<db::slot_cursor>& slots, const std::vector<uint64_t>& held, size_t per_slot,
    size_t limit)>;

struct consumer_deps {
  consumer_settings settings;
  read_fn read;
  metrics_ptr metrics;
  actor_probe_ptr probe;
  std::shared_ptr<std::atomic<int64_t>> in_flight; // read by the supervisor when it dies
};

// A slot reader. For each slot it reads events in id order from where it stands (a cursor),
// sends them through its one producer, has the cleaner delete what Kafka acknowledged, and
// reads on while it holds credit: many batches of one slot may be in flight at once. When an
// event of a slot is not delivered, the slot stops, waits until nothing of it is in flight, and
// reads again from its first event in a new round (after a backoff when Kafka refused it for
// good). It blocks on PostgreSQL: detached in production.
consumer_actor spawn_consumer(caf::actor_system& sys, spawn_mode mode, consumer_deps deps);

} // namespace lpa
