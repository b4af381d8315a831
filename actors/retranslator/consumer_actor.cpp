#include "actors/retranslator/consumer_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace lpa {

namespace {

// One leased slot as its reader sees it.
struct slot_reader {
  db::slot_lease lease;
  uint64_t cursor = 0;       // the highest id read in this round
  uint64_t highest_sent = 0; // the highest id sent under this lease, in any round
  std::set<uint64_t> held;   // read in this round, not yet deleted or handed back
  size_t sending = 0;        // of them, at the producer or the sender
  size_t deleting = 0;       // of them, delivered and at the cleaner
  uint64_t round = 0;
  uint64_t sent_in_round = 0; // the index of the round's next record
  bool restarting = false;    // a send failed: read again from the start once nothing is out
  bool backing_off = false;   // Kafka refused an event for good: wait before reading again
  uint32_t refusals = 0;      // refusals in a row, for the backoff
  bool assigned = true;       // false: no longer ours; forgotten once nothing is in flight
  std::optional<db::slot_lease> next_lease; // held again in a new epoch, once this one settled

  size_t in_flight() const { return sending + deleting; }
  bool readable() const { return assigned && !restarting && !backing_off; }
};

struct event_ref {
  uint64_t id;
  uint32_t slot;
};

struct consumer_state {
  consumer_deps deps;
  producer_actor producer;
  cleaner_actor cleaner;
  std::map<uint32_t, slot_reader> slots;
  std::map<uint64_t, std::vector<event_ref>> sending;            // batch -> its events
  std::map<uint64_t, std::vector<db::delivered_event>> deleting; // batch -> at the cleaner
  std::map<uint64_t, uint32_t> delete_attempts;                  // batch -> failed requests
  size_t in_flight = 0;
  uint64_t next_batch = 1;
  size_t rotation = 0; // which slot is read first, so that all get their turn
  bool read_queued = false;
  std::chrono::steady_clock::time_point last_read;
  bool draining = false;
  uint32_t read_failures = 0;
  std::vector<caf::typed_response_promise<bool>> assigned;
  std::vector<caf::typed_response_promise<bool>> drained;
  static inline const char* name = "consumer";
};

using consumer_ptr = consumer_actor::stateful_pointer<consumer_state>;

// Rounds only grow, also across incarnations of this actor in one process: the sender compares
// them with the round of a failed record.
uint64_t new_round() {
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

slot_reader fresh_reader(db::slot_lease lease) {
  slot_reader r;
  r.lease = lease;
  r.round = new_round();
  return r;
}

void change_in_flight(consumer_ptr self, long long delta) {
  auto& st = self->state;
  st.in_flight = static_cast<size_t>(static_cast<long long>(st.in_flight) + delta);
  *st.deps.in_flight += delta;
  st.deps.metrics->events_in_flight.Increment(static_cast<double>(delta));
}

void request_read(consumer_ptr self) {
  auto& st = self->state;
  if (st.read_queued || st.draining)
    return;
  st.read_queued = true;
  // Every commit sends a wake: reading at most once per read_interval turns a steady trickle
  // into batches, instead of one read (a probe of every slot) per event.
  auto since = std::chrono::steady_clock::now() - st.last_read;
  const auto interval = st.deps.settings.read_interval;
  if (since >= interval)
    self->send(self, read_atom_v);
  else
    self->delayed_send(self, std::chrono::duration_cast<milliseconds>(interval - since),
                       read_atom_v);
}

void answer_promises(consumer_ptr self) {
  auto& st = self->state;
  bool settled = std::none_of(st.slots.begin(), st.slots.end(),
                              [](const auto& entry) { return !entry.second.assigned; });
  if (settled) {
    for (auto& p : st.assigned)
      p.deliver(true);
    st.assigned.clear();
  }
  if (st.draining && st.in_flight == 0) {
    for (auto& p : st.drained)
      p.deliver(true);
    st.drained.clear();
  }
}

// Once nothing of the slot is in flight: forget it (no longer ours), take it in its new epoch,
// or start a new round from its first event.
void settle(consumer_ptr self, uint32_t number) {
  auto& st = self->state;
  auto it = st.slots.find(number);
  if (it == st.slots.end() || it->second.in_flight() > 0)
    return;
  auto& slot = it->second;
  if (!slot.assigned) {
    if (slot.next_lease)
      slot = fresh_reader(*slot.next_lease);
    else
      st.slots.erase(it);
    request_read(self);
    answer_promises(self);
    return;
  }
  if (!slot.restarting)
    return;
  slot.restarting = false;
  slot.cursor = 0;
  slot.held.clear();
  slot.round = new_round();
  slot.sent_in_round = 0;
  if (slot.refusals > 0) {
    auto delay = exponential_backoff(st.deps.settings.backoff_min, st.deps.settings.backoff_max,
                                     slot.refusals - 1);
    slot.backing_off = true;
    self->delayed_send(self, delay, resume_atom_v, number);
    spdlog::warn("{}: slot {} sends again from its first waiting event in {} ms",
                 st.deps.settings.name, number, delay.count());
  } else {
    request_read(self);
  }
}

void request_delete(consumer_ptr self, uint64_t batch);

// The cleaner deleted the batch's delivered events (or they were fenced: the slot is no longer
// ours): their credit returns.
void on_deleted(consumer_ptr self, uint64_t batch) {
  auto& st = self->state;
  auto it = st.deleting.find(batch);
  if (it == st.deleting.end())
    return;
  std::set<uint32_t> touched;
  for (const auto& e : it->second) {
    auto slot = st.slots.find(e.slot);
    if (slot == st.slots.end())
      continue;
    --slot->second.deleting;
    slot->second.held.erase(e.id);
    touched.insert(e.slot);
  }
  change_in_flight(self, -static_cast<long long>(it->second.size()));
  st.deleting.erase(it);
  st.delete_attempts.erase(batch);
  for (auto number : touched)
    settle(self, number);
  request_read(self);
  answer_promises(self);
}

void request_delete(consumer_ptr self, uint64_t batch) {
  auto& st = self->state;
  if (!st.cleaner) {
    self->delayed_send(self, st.deps.settings.backoff_min, retry_atom_v, batch);
    return;
  }
  self->request(st.cleaner, st.deps.settings.clean_timeout, delete_atom_v, st.deleting.at(batch))
      .then([=](uint64_t) { on_deleted(self, batch); },
            [=](caf::error& err) {
              auto& st = self->state;
              if (st.deleting.count(batch) == 0)
                return;
              // Delivered events stay in flight until deleted: while PostgreSQL is away, the
              // credit stays spent and nothing more is read.
              auto attempt = st.delete_attempts[batch]++;
              auto delay = exponential_backoff(st.deps.settings.backoff_min,
                                               st.deps.settings.backoff_max, attempt);
              if (attempt == 0)
                spdlog::warn("{}: cleaner did not delete batch {} ({}); asking again",
                             st.deps.settings.name, batch, self->system().render(err));
              self->delayed_send(self, delay, retry_atom_v, batch);
            });
}

// Kafka (or the path to it) decided the batch's fate.
void on_result(consumer_ptr self, uint64_t batch, const delivery_result& result) {
  auto& st = self->state;
  auto it = st.sending.find(batch);
  if (it == st.sending.end())
    return; // aborted earlier
  std::map<uint64_t, uint32_t> slot_of;
  for (const auto& e : it->second)
    slot_of[e.id] = e.slot;
  st.sending.erase(it);
  std::set<uint32_t> touched;
  auto give_back = [&](uint64_t id, bool refused) {
    auto slot = st.slots.find(slot_of.at(id));
    if (slot == st.slots.end())
      return;
    auto& r = slot->second;
    --r.sending;
    r.held.erase(id);
    r.restarting = true;
    if (refused)
      ++r.refusals;
    touched.insert(r.lease.slot);
  };
  for (auto id : result.refused)
    give_back(id, true);
  for (auto id : result.released)
    give_back(id, false);
  auto back = result.refused.size() + result.released.size();
  if (back > 0) {
    change_in_flight(self, -static_cast<long long>(back));
    st.deps.metrics->events_released.Increment(static_cast<double>(back));
  }
  if (!result.refused.empty())
    spdlog::warn("{}: Kafka refused {} event(s) of batch {} for good (first id {}); their slots "
                 "send again from their first waiting event after a backoff",
                 st.deps.settings.name, result.refused.size(), batch, result.refused.front());
  std::vector<db::delivered_event> delivered;
  for (auto id : result.delivered) {
    auto slot = st.slots.find(slot_of.at(id));
    if (slot == st.slots.end())
      continue;
    auto& r = slot->second;
    --r.sending;
    ++r.deleting;
    if (!r.restarting)
      r.refusals = 0;
    delivered.push_back({id, r.lease.slot, r.lease.epoch});
  }
  for (auto number : touched)
    settle(self, number);
  if (!delivered.empty()) {
    st.deleting[batch] = std::move(delivered);
    request_delete(self, batch);
  }
  request_read(self);
  answer_promises(self);
}

void dispatch(consumer_ptr self, event_batch batch) {
  auto& st = self->state;
  auto id = batch.batch_id;
  auto& refs = st.sending[id];
  for (const auto& e : batch.events)
    refs.push_back({e.event.id, e.event.slot});
  st.deps.metrics->batch_size.Observe(static_cast<double>(batch.events.size()));
  self->request(st.producer, caf::infinite, encode_atom_v, std::move(batch))
      .then([=](delivery_result& result) { on_result(self, id, result); },
            [=](caf::error& err) {
              auto& st = self->state;
              auto it = st.sending.find(id);
              if (it == st.sending.end())
                return;
              spdlog::warn("{}: batch {} not sent ({}); its slots send again",
                           st.deps.settings.name, id, self->system().render(err));
              delivery_result all_back;
              for (const auto& e : it->second)
                all_back.released.push_back(e.id);
              on_result(self, id, all_back);
            });
}

// The readable slots, starting at a rotating position so that no slot waits behind the others.
std::vector<db::slot_cursor> readable_slots(consumer_state& st, std::vector<uint64_t>& held) {
  std::vector<db::slot_cursor> out;
  std::vector<slot_reader*> readers;
  for (auto& entry : st.slots)
    if (entry.second.readable())
      readers.push_back(&entry.second);
  if (readers.empty())
    return out;
  auto first = st.rotation++ % readers.size();
  for (size_t i = 0; i < readers.size(); ++i) {
    auto& r = *readers[(first + i) % readers.size()];
    out.push_back({r.lease.slot, r.cursor});
    held.insert(held.end(), r.held.begin(), r.held.end());
  }
  return out;
}

void read(consumer_ptr self) {
  auto& st = self->state;
  st.read_queued = false;
  st.last_read = std::chrono::steady_clock::now();
  const auto& s = st.deps.settings;
  if (st.draining || !st.producer || !st.cleaner || st.in_flight >= s.credit)
    return;
  std::vector<uint64_t> held;
  auto cursors = readable_slots(st, held);
  if (cursors.empty())
    return;
  auto limit = s.credit - st.in_flight;
  // With much in flight, wait until a good part of the credit is back: many tiny reads would
  // cost more than they bring.
  if (st.in_flight > 0 && limit < std::min(s.per_slot, s.credit / 4))
    return;
  std::vector<db::outbox_event> events;
  try {
    events = st.deps.read(cursors, held, s.per_slot, limit);
    if (st.read_failures > 0)
      spdlog::info("{}: reading again", s.name);
    st.read_failures = 0;
  } catch (const std::exception& e) {
    if (st.read_failures++ == 0)
      spdlog::warn("{}: cannot read the outbox (will keep polling): {}", s.name, e.what());
    return;
  }
  if (events.empty())
    return;
  // Per slot in id order: an event committed late (below the cursor) goes before the newer ones
  // of its slot, which cannot include a later event of its package (that one committed after it).
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    return a.slot != b.slot ? a.slot < b.slot : a.id < b.id;
  });
  event_batch batch;
  batch.batch_id = st.next_batch++;
  std::map<uint32_t, size_t> per_slot;
  size_t retried = 0;
  for (auto& e : events) {
    auto& r = st.slots.at(e.slot);
    if (e.id <= r.cursor)
      spdlog::debug("{}: slot {}: event {} committed after later ones were read", s.name, e.slot,
                    e.id);
    r.cursor = std::max(r.cursor, e.id);
    if (e.id <= r.highest_sent)
      ++retried;
    r.highest_sent = std::max(r.highest_sent, e.id);
    r.held.insert(e.id);
    ++r.sending;
    ++per_slot[e.slot];
    batch.events.push_back({std::move(e), r.round, r.sent_in_round++});
  }
  if (retried > 0)
    st.deps.metrics->events_retried.Increment(static_cast<double>(retried));
  change_in_flight(self, static_cast<long long>(batch.events.size()));
  auto full = batch.events.size() >= limit
              || std::any_of(per_slot.begin(), per_slot.end(),
                             [&](const auto& entry) { return entry.second >= s.per_slot; });
  dispatch(self, std::move(batch));
  if (full)
    request_read(self); // there is more: read again once what is queued was handled
}

void assign(consumer_ptr self, const std::vector<db::slot_lease>& leases) {
  auto& st = self->state;
  std::map<uint32_t, db::slot_lease> wanted;
  for (const auto& l : leases)
    wanted[l.slot] = l;
  std::vector<uint32_t> dropped;
  for (auto& [number, slot] : st.slots) {
    auto w = wanted.find(number);
    if (w == wanted.end()) {
      slot.assigned = false;
      slot.next_lease.reset();
      dropped.push_back(number);
    } else if (w->second.epoch != slot.lease.epoch) {
      // Lost and taken again: what is in flight belongs to the old epoch (its deletes are
      // fenced); the new epoch starts from the first event once that settled.
      slot.assigned = false;
      slot.next_lease = w->second;
      dropped.push_back(number);
    } else {
      slot.assigned = true;
      slot.next_lease.reset();
    }
  }
  for (const auto& [number, lease] : wanted)
    if (st.slots.count(number) == 0)
      st.slots.emplace(number, fresh_reader(lease));
  for (auto number : dropped)
    settle(self, number);
  request_read(self);
}

void abort_in_flight(consumer_ptr self) {
  auto& st = self->state;
  std::vector<uint64_t> batches;
  for (const auto& entry : st.sending)
    batches.push_back(entry.first);
  for (auto batch : batches) {
    delivery_result all_back;
    for (const auto& e : st.sending.at(batch))
      all_back.released.push_back(e.id);
    on_result(self, batch, all_back);
  }
}

consumer_actor::behavior_type consumer(consumer_ptr self, consumer_deps deps) {
  self->state.deps = std::move(deps);
  auto probe = self->state.deps.probe;
  self->send(self, poll_atom_v);
  return {
      [=](assign_atom, const std::vector<db::slot_lease>& leases) -> caf::result<bool> {
        auto scope = probe->enter(self);
        auto promise = self->make_response_promise<bool>();
        self->state.assigned.push_back(promise);
        assign(self, leases);
        answer_promises(self);
        return promise;
      },
      [=](wake_atom) {
        auto scope = probe->enter(self);
        request_read(self);
        return true;
      },
      [=](poll_atom) {
        auto scope = probe->enter(self);
        request_read(self); // the fallback for a missed NOTIFY
        self->delayed_send(self, self->state.deps.settings.poll_interval, poll_atom_v);
      },
      [=](read_atom) {
        auto scope = probe->enter(self);
        read(self);
      },
      [=](resume_atom, uint32_t number) {
        auto scope = probe->enter(self);
        auto it = self->state.slots.find(number);
        if (it != self->state.slots.end())
          it->second.backing_off = false;
        request_read(self);
      },
      [=](retry_atom, uint64_t batch) {
        auto scope = probe->enter(self);
        if (self->state.deleting.count(batch) > 0)
          request_delete(self, batch);
      },
      [=](wire_atom, producer_actor producer, cleaner_actor cleaner) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        auto new_cleaner = st.cleaner != cleaner;
        st.producer = std::move(producer);
        st.cleaner = std::move(cleaner);
        // A new cleaner never saw the requests the old one held: ask again (deletes are
        // idempotent).
        if (new_cleaner)
          for (const auto& entry : st.deleting)
            request_delete(self, entry.first);
        request_read(self);
      },
      [=](abort_atom) {
        auto scope = probe->enter(self);
        abort_in_flight(self);
      },
      [=](drain_atom) -> caf::result<bool> {
        auto scope = probe->enter(self);
        auto& st = self->state;
        st.draining = true;
        auto promise = self->make_response_promise<bool>();
        st.drained.push_back(promise);
        answer_promises(self);
        return promise;
      },
  };
}

} // namespace

consumer_actor spawn_consumer(caf::actor_system& sys, spawn_mode mode, consumer_deps deps) {
  return spawn_in(sys, mode, consumer, std::move(deps));
}

} // namespace lpa
