#pragma once

// The retranslator's whole actor protocol, in one place:
//
//   ConsumerActor ──(encode, batch)──► ProducerActor ──delegates (send, records)──► SenderActor
//        ▲  │                                                                        │
//        │  └──(clean, outcome)──► CleanerActor                                      │
//        │         │ answered once flushed: the consumer's credit comes back here    │
//        └─────────┴──────────────────────── delivery_result ◄───────────────────────┘
//
// A consumer owns a credit window: it claims only while events in flight (claimed, not yet
// cleaned) stay below its share of retranslator.window. The supervisor spawns and restarts
// every stage and rewires the others with (wire, ...) when a handle changes.

#include "db/outbox_store.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lpa {

// A claimed batch on its way through the pipeline.
struct event_batch {
  uint64_t batch_id = 0;
  std::string owner;
  std::vector<db::outbox_event> events;
};

// One Kafka message, encoded: value = hablof.proto.v1.PackageEvent.
struct kafka_record {
  uint64_t event_id = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The fate of a batch's events as the delivery reports decided it.
struct delivery_result {
  std::vector<uint64_t> delivered;
  std::vector<uint64_t> failed;
};

} // namespace lpa

// Its own ID range: a test binary may include the API's protocol too.
CAF_BEGIN_TYPE_ID_BLOCK(lpa_retranslator, caf::first_custom_type_id + 100)
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::db::outbox_event))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::db::outbox_outcome))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::event_batch))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::kafka_record))
  CAF_ADD_TYPE_ID(lpa_retranslator, (std::vector<lpa::kafka_record>))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::delivery_result))
  CAF_ADD_ATOM(lpa_retranslator, lpa, claim_atom, "claim")
  CAF_ADD_ATOM(lpa_retranslator, lpa, encode_atom, "encode")
  CAF_ADD_ATOM(lpa_retranslator, lpa, send_atom, "send")
  CAF_ADD_ATOM(lpa_retranslator, lpa, clean_atom, "clean")
  CAF_ADD_ATOM(lpa_retranslator, lpa, flush_atom, "flush")
  CAF_ADD_ATOM(lpa_retranslator, lpa, release_atom, "release")
  CAF_ADD_ATOM(lpa_retranslator, lpa, renew_atom, "renew")
  CAF_ADD_ATOM(lpa_retranslator, lpa, wire_atom, "wire")
  CAF_ADD_ATOM(lpa_retranslator, lpa, kpoll_atom, "kpoll")
  CAF_ADD_ATOM(lpa_retranslator, lpa, retry_atom, "retry")
  CAF_ADD_ATOM(lpa_retranslator, lpa, listen_atom, "listen")
  CAF_ADD_ATOM(lpa_retranslator, lpa, drain_atom, "drain")
  CAF_ADD_ATOM(lpa_retranslator, lpa, poll_atom, "poll")
  CAF_ADD_ATOM(lpa_retranslator, lpa, abort_atom, "abort")
  CAF_ADD_ATOM(lpa_retranslator, lpa, restage_atom, "restage")
CAF_END_TYPE_ID_BLOCK(lpa_retranslator)

namespace lpa::db {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbox_event& x) {
  return f(caf::meta::type_name("outbox_event"), x.id, x.package_id, x.type, x.package_seq,
           x.payload, x.created_us, x.traceparent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbox_outcome& x) {
  return f(caf::meta::type_name("outbox_outcome"), x.owner, x.delivered, x.released);
}

} // namespace lpa::db

namespace lpa {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_batch& x) {
  return f(caf::meta::type_name("event_batch"), x.batch_id, x.owner, x.events);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kafka_record& x) {
  return f(caf::meta::type_name("kafka_record"), x.event_id, x.key, x.value, x.headers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_result& x) {
  return f(caf::meta::type_name("delivery_result"), x.delivered, x.failed);
}

// Talks to Kafka: answers once every record of the batch has a delivery report. Retriable
// failures are retried inside (with backoff), so `failed` holds only what Kafka refused for
// good.
using sender_actor
    = caf::typed_actor<caf::replies_to<send_atom, std::vector<kafka_record>>::with<delivery_result>,
                       caf::reacts_to<kpoll_atom>, caf::reacts_to<retry_atom, uint64_t>>;

// Encodes a batch (protobuf value, key, headers) and hands it to the sender, which answers the
// consumer directly.
using producer_actor
    = caf::typed_actor<caf::replies_to<encode_atom, event_batch>::with<delivery_result>,
                       caf::reacts_to<wire_atom, sender_actor>>;

// Deletes delivered events and releases failed ones, batched: answers each request once the
// statement that applied it committed.
using cleaner_actor = caf::typed_actor<caf::replies_to<clean_atom, db::outbox_outcome>::with<bool>,
                                       caf::replies_to<release_atom, std::string>::with<uint64_t>,
                                       caf::reacts_to<flush_atom>>;

// Claims batches while it holds credit; woken by NOTIFY (claim) and its poll timer.
using consumer_actor
    = caf::typed_actor<caf::reacts_to<claim_atom>, caf::reacts_to<poll_atom>,
                       caf::reacts_to<renew_atom>,
                       caf::reacts_to<wire_atom, std::vector<producer_actor>, cleaner_actor>,
                       // Ask the cleaner again about a batch whose clean request failed.
                       caf::reacts_to<retry_atom, uint64_t>,
                       // The sender died: batches it held will never be answered; release them.
                       caf::reacts_to<abort_atom>,
                       // Stop claiming; answers when nothing is in flight any more.
                       caf::replies_to<drain_atom>::with<bool>,
                       // Release what is still in flight (the drain deadline passed).
                       caf::replies_to<release_atom>::with<uint64_t>>;

// LISTENs for the API's NOTIFY and wakes the consumers; also samples the oldest event's age.
using listener_actor = caf::typed_actor<caf::reacts_to<listen_atom>,
                                        caf::reacts_to<wire_atom, std::vector<consumer_actor>>>;

void register_retranslator_protocol(caf::actor_system_config& cfg);

} // namespace lpa
