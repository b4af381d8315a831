#pragma once

// package-history's whole actor protocol, in one place.
//
//   KafkaConsumerActor ──(apply: a batch, routed by package id % writers)──► WriterActor ×K
//        ▲   librdkafka high-level consumer                                      │ one transaction
//        └──────────────(committed: the records now in the history database)────┘ per batch
//
// The consumer holds at most history.window records in flight (consumed, not committed): the
// writers' commits return the credit. Out of credit, it pauses its partitions; it stores a
// partition's offset only below its oldest record in flight, so everything not committed is
// read again after a crash or a rebalance (and deduplicated by event id). The supervisor
// restarts a dead stage with backoff; a dead writer makes the consumer rewind (read again what
// was in flight).

#include "db/history_store.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lpa::history {

// A record's place in the topic (the topic is history's one subscription).
struct record_pos {
  int32_t partition = 0;
  int64_t offset = 0;
};

// A record that decoded into an event.
struct inbound_event {
  record_pos pos;
  db::history_event_row event;
};

// A record that cannot be applied for good.
struct inbound_reject {
  record_pos pos;
  db::rejected_row record;
};

// What the consumer hands one writer from one poll.
struct ingest_batch {
  std::vector<inbound_event> events;
  std::vector<inbound_reject> rejected;
};

} // namespace lpa::history

// Its own ID range: a test binary may include another process's protocol too.
CAF_BEGIN_TYPE_ID_BLOCK(lpa_history, caf::first_custom_type_id + 200)
  CAF_ADD_TYPE_ID(lpa_history, (lpa::history::record_pos))
  CAF_ADD_TYPE_ID(lpa_history, (std::vector<lpa::history::record_pos>))
  CAF_ADD_TYPE_ID(lpa_history, (lpa::db::history_event_row))
  CAF_ADD_TYPE_ID(lpa_history, (lpa::db::rejected_row))
  CAF_ADD_TYPE_ID(lpa_history, (lpa::history::inbound_event))
  CAF_ADD_TYPE_ID(lpa_history, (lpa::history::inbound_reject))
  CAF_ADD_TYPE_ID(lpa_history, (lpa::history::ingest_batch))
  CAF_ADD_ATOM(lpa_history, lpa::history, apply_atom, "apply")
  CAF_ADD_ATOM(lpa_history, lpa::history, committed_atom, "committed")
  CAF_ADD_ATOM(lpa_history, lpa::history, flush_atom, "flush")
  CAF_ADD_ATOM(lpa_history, lpa::history, release_atom, "release")
  CAF_ADD_ATOM(lpa_history, lpa::history, kpoll_atom, "kpoll")
  CAF_ADD_ATOM(lpa_history, lpa::history, wire_atom, "wire")
  CAF_ADD_ATOM(lpa_history, lpa::history, rewind_atom, "rewind")
  CAF_ADD_ATOM(lpa_history, lpa::history, prune_atom, "prune")
  CAF_ADD_ATOM(lpa_history, lpa::history, drain_atom, "drain")
  CAF_ADD_ATOM(lpa_history, lpa::history, restage_atom, "restage")
CAF_END_TYPE_ID_BLOCK(lpa_history)

namespace lpa::db {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, history_event_row& x) {
  return f(caf::meta::type_name("history_event_row"), x.package_id, x.event_id, x.package_seq,
           x.event_type, x.created_us, x.payload, x.traceparent, x.partition, x.offset);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rejected_row& x) {
  return f(caf::meta::type_name("rejected_row"), x.topic, x.partition, x.offset, x.key, x.value,
           x.headers, x.error);
}

} // namespace lpa::db

namespace lpa::history {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_pos& x) {
  return f(caf::meta::type_name("record_pos"), x.partition, x.offset);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inbound_event& x) {
  return f(caf::meta::type_name("inbound_event"), x.pos, x.event);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inbound_reject& x) {
  return f(caf::meta::type_name("inbound_reject"), x.pos, x.record);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ingest_batch& x) {
  return f(caf::meta::type_name("ingest_batch"), x.events, x.rejected);
}

// Where writers report what they committed: the records at these positions are in the history
// database (or in history_rejected). True whoever sent it, so a report that reaches a newer
// consumer incarnation is still right.
using commit_sink = caf::typed_actor<caf::reacts_to<committed_atom, std::vector<record_pos>>>;

// Applies batches to the history database: dedup by event id, state by package_seq, gaps held
// back up to history.gap_hold. Reports every committed record to the sink of the latest batch.
using writer_actor = caf::typed_actor<caf::reacts_to<apply_atom, ingest_batch, commit_sink>,
                                      caf::reacts_to<flush_atom>,    // write what can be written
                                      caf::reacts_to<release_atom>>; // its gap timer

// Consumes omp-package-events and routes each record to the writer of its package.
using consumer_actor
    = commit_sink::extend<caf::reacts_to<kpoll_atom>, // its own poll timer
                          caf::reacts_to<wire_atom, std::vector<writer_actor>>, // the writers, by
                                                                                // index
                          // A writer died with records in flight: read everything in flight again.
                          caf::reacts_to<rewind_atom>>;

// Deletes history older than history.retention_days, a slice at a time.
using pruner_actor = caf::typed_actor<caf::reacts_to<prune_atom>>;

void register_history_protocol(caf::actor_system_config& cfg);

} // namespace lpa::history
