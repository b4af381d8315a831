#pragma once

// The retranslator's whole actor protocol, in one place.
//
//   slot keeper ──(assign: the slots to read)──► ConsumerActor ×C  (slot readers)
//   listener ──(wake, on NOTIFY)──────────────►      │ ▲
//                                  (encode, batch)   │ │ delivery_result (sent / refused /
//                                  released)
//                                                    ▼ │
//                          ProducerActor ×M ──delegates (send, records)──► SenderActor ──
//                          librdkafka ──► Kafka
//        consumers ──(delete, what Kafka acknowledged)──► CleanerActor ── answered once committed:
//                                                                        the consumer's credit
//                                                                        returns
//
// Every package maps to one slot (package id % slot count). A retranslator leases slots through
// the database; each slot is read by one consumer, which sends its events through one ordered
// path: always the same producer, then the single sender. A consumer holds at most its share of
// retranslator.window events in flight (read, not yet deleted). The supervisor spawns and
// restarts every stage and rewires the others with (wire, ...) when a handle changes.

#include "db/outbox_store.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lpa {

// An event on its way to Kafka, with the round of its slot's reader and its place in that round.
// A slot starts a new round each time it reads again from its first event (after a failed send).
// The sender drops records of a round in which an earlier record failed, or in which an earlier
// record never arrived (lost with a stage that died on the way), so nothing of a slot passes a
// record that did not go out.
struct batch_event {
  db::outbox_event event;
  uint64_t round = 0;
  uint64_t index = 0; // 0, 1, 2, ... within the slot's round
};

struct event_batch {
  uint64_t batch_id = 0;
  std::vector<batch_event> events;
};

// One Kafka message, encoded: value = hablof.proto.v1.PackageEvent.
struct kafka_record {
  uint64_t event_id = 0;
  uint32_t slot = 0;
  uint64_t round = 0;
  uint64_t index = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The fate of a batch's events.
struct delivery_result {
  std::vector<uint64_t> delivered; // acknowledged by Kafka (acks=all)
  std::vector<uint64_t> refused; // refused for good by Kafka or librdkafka: retried after a backoff
  std::vector<uint64_t> released; // not delivered because of an earlier failure: sent again
};

} // namespace lpa

// Its own ID range: a test binary may include the API's protocol too.
CAF_BEGIN_TYPE_ID_BLOCK(lpa_retranslator, caf::first_custom_type_id + 100)
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::db::outbox_event))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::db::slot_lease))
  CAF_ADD_TYPE_ID(lpa_retranslator, (std::vector<lpa::db::slot_lease>))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::db::delivered_event))
  CAF_ADD_TYPE_ID(lpa_retranslator, (std::vector<lpa::db::delivered_event>))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::batch_event))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::event_batch))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::kafka_record))
  CAF_ADD_TYPE_ID(lpa_retranslator, (std::vector<lpa::kafka_record>))
  CAF_ADD_TYPE_ID(lpa_retranslator, (lpa::delivery_result))
  CAF_ADD_ATOM(lpa_retranslator, lpa, encode_atom, "encode")
  CAF_ADD_ATOM(lpa_retranslator, lpa, send_atom, "send")
  CAF_ADD_ATOM(lpa_retranslator, lpa, delete_atom, "delete")
  CAF_ADD_ATOM(lpa_retranslator, lpa, flush_atom, "flush")
  CAF_ADD_ATOM(lpa_retranslator, lpa, wire_atom, "wire")
  CAF_ADD_ATOM(lpa_retranslator, lpa, kpoll_atom, "kpoll")
  CAF_ADD_ATOM(lpa_retranslator, lpa, retry_atom, "retry")
  CAF_ADD_ATOM(lpa_retranslator, lpa, listen_atom, "listen")
  CAF_ADD_ATOM(lpa_retranslator, lpa, wake_atom, "wake")
  CAF_ADD_ATOM(lpa_retranslator, lpa, read_atom, "read")
  CAF_ADD_ATOM(lpa_retranslator, lpa, poll_atom, "poll")
  CAF_ADD_ATOM(lpa_retranslator, lpa, resume_atom, "resume")
  CAF_ADD_ATOM(lpa_retranslator, lpa, assign_atom, "assign")
  CAF_ADD_ATOM(lpa_retranslator, lpa, tick_atom, "tick")
  CAF_ADD_ATOM(lpa_retranslator, lpa, drain_atom, "drain")
  CAF_ADD_ATOM(lpa_retranslator, lpa, abort_atom, "abort")
  CAF_ADD_ATOM(lpa_retranslator, lpa, restage_atom, "restage")
CAF_END_TYPE_ID_BLOCK(lpa_retranslator)

namespace lpa::db {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outbox_event& x) {
  return f(caf::meta::type_name("outbox_event"), x.id, x.package_id, x.slot, x.type, x.package_seq,
           x.payload, x.created_us, x.traceparent);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_lease& x) {
  return f(caf::meta::type_name("slot_lease"), x.slot, x.epoch);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivered_event& x) {
  return f(caf::meta::type_name("delivered_event"), x.id, x.slot, x.epoch);
}

} // namespace lpa::db

namespace lpa {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_event& x) {
  return f(caf::meta::type_name("batch_event"), x.event, x.round, x.index);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event_batch& x) {
  return f(caf::meta::type_name("event_batch"), x.batch_id, x.events);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kafka_record& x) {
  return f(caf::meta::type_name("kafka_record"), x.event_id, x.slot, x.round, x.index, x.key,
           x.value, x.headers);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, delivery_result& x) {
  return f(caf::meta::type_name("delivery_result"), x.delivered, x.refused, x.released);
}

// Talks to Kafka: answers once every record of the batch has its fate. Kafka being down is
// not a failure: records wait in librdkafka until it is back.
using sender_actor
    = caf::typed_actor<caf::replies_to<send_atom, std::vector<kafka_record>>::with<delivery_result>,
                       caf::reacts_to<kpoll_atom>, caf::reacts_to<retry_atom>>;

// Encodes a batch (protobuf value, key, headers) and hands it to the sender, which answers the
// consumer directly.
using producer_actor
    = caf::typed_actor<caf::replies_to<encode_atom, event_batch>::with<delivery_result>,
                       caf::reacts_to<wire_atom, sender_actor>>;

// Deletes what Kafka acknowledged, batched: answers each request (with how many rows it
// deleted) once the statement that applied it committed.
using cleaner_actor = caf::typed_actor<
    caf::replies_to<delete_atom, std::vector<db::delivered_event>>::with<uint64_t>,
    caf::reacts_to<flush_atom>>;

// Reads its slots and sends their events while it holds credit.
using consumer_actor = caf::typed_actor<
    // Read exactly these slots from now on; answered once the slots it no longer reads have
    // nothing in flight (then they may be released).
    caf::replies_to<assign_atom, std::vector<db::slot_lease>>::with<bool>,
    // New events were committed (the listener coalesces: one wake until it is answered).
    caf::replies_to<wake_atom>::with<bool>,
    caf::reacts_to<poll_atom>,             // its own fallback timer
    caf::reacts_to<read_atom>,             // read more, now
    caf::reacts_to<resume_atom, uint32_t>, // a slot's backoff after a refusal ended
    caf::reacts_to<retry_atom, uint64_t>,  // ask the cleaner again about a batch
    caf::reacts_to<wire_atom, producer_actor, cleaner_actor>,
    // Its producer or the sender died: batches they held will never be answered.
    caf::reacts_to<abort_atom>,
    // Stop reading; answers when nothing is in flight any more.
    caf::replies_to<drain_atom>::with<bool>>;

// Leases slots for this process (heartbeat, renewal, takeover of expired leases, an even share
// among the live retranslators) and tells each consumer which slots to read.
using slot_keeper_actor
    = caf::typed_actor<caf::reacts_to<tick_atom>,
                       caf::reacts_to<wire_atom, std::vector<consumer_actor>>,
                       // Release every slot and leave (clean stop); answers when done.
                       caf::replies_to<drain_atom>::with<bool>>;

// LISTENs for the API's NOTIFY and wakes the consumers; also samples the oldest event's age.
using listener_actor = caf::typed_actor<caf::reacts_to<listen_atom>,
                                        caf::reacts_to<wire_atom, std::vector<consumer_actor>>>;

void register_retranslator_protocol(caf::actor_system_config& cfg);

} // namespace lpa
