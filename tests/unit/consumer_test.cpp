// The ConsumerActor (a slot reader) on CAF's deterministic scheduler, with an in-memory outbox,
// a fake producer and a fake cleaner that hold every request until the test answers it.
#include "actors/retranslator/consumer_actor.hpp"
#include "tests/support/caf_fixture.hpp"

#include <map>
#include <set>

using namespace lpa;
using namespace std::chrono_literals;

namespace {

struct held_batch {
  event_batch batch;
  caf::typed_response_promise<delivery_result> promise;
};

struct held_delete {
  std::vector<db::delivered_event> events;
  caf::typed_response_promise<uint64_t> promise;
};

// The outbox: slot -> id -> package. Reads follow db::outbox_store::read.
struct fake_outbox {
  std::map<uint32_t, std::map<uint64_t, uint64_t>> rows;
  size_t reads = 0;

  void add(uint32_t slot, uint64_t id, uint64_t package) { rows[slot][id] = package; }

  std::vector<db::outbox_event> read(const std::vector<db::slot_cursor>& slots,
                                     const std::vector<uint64_t>& held, size_t per_slot,
                                     size_t limit) {
    ++reads;
    std::set<uint64_t> in_flight(held.begin(), held.end());
    std::vector<db::outbox_event> out;
    auto row = [](uint32_t slot, uint64_t id, uint64_t package) {
      db::outbox_event e;
      e.id = id;
      e.slot = slot;
      e.package_id = package;
      return e;
    };
    for (const auto& s : slots)
      for (const auto& [id, package] : rows[s.slot])
        if (id <= s.cursor && in_flight.count(id) == 0)
          out.push_back(row(s.slot, id, package));
    size_t tail = 0;
    for (const auto& s : slots) {
      size_t n = 0;
      for (const auto& [id, package] : rows[s.slot])
        if (id > s.cursor && n < per_slot && tail < limit) {
          out.push_back(row(s.slot, id, package));
          ++n;
          ++tail;
        }
    }
    return out;
  }
};

// Promises are answered from inside the fakes' own handlers: CAF's test coordinator gives an
// actor an execution context only while it runs.
caf::behavior fake_producer(caf::event_based_actor* self, std::vector<held_batch>* held) {
  return {
      [=](encode_atom, event_batch& batch) -> caf::result<delivery_result> {
        auto promise = self->make_response_promise<delivery_result>();
        held->push_back({std::move(batch), promise});
        return promise;
      },
      [=](size_t index, delivery_result& result) { held->at(index).promise.deliver(result); },
      [](wire_atom, const sender_actor&) {},
  };
}

caf::behavior fake_cleaner(caf::event_based_actor* self, std::vector<held_delete>* held,
                           fake_outbox* outbox) {
  return {
      [=](delete_atom, std::vector<db::delivered_event>& events) -> caf::result<uint64_t> {
        auto promise = self->make_response_promise<uint64_t>();
        held->push_back({std::move(events), promise});
        return promise;
      },
      [=](size_t index, bool ok) {
        auto& request = held->at(index);
        if (!ok) {
          request.promise.deliver(caf::make_error(caf::sec::runtime_error));
          return;
        }
        for (const auto& e : request.events)
          outbox->rows[e.slot].erase(e.id);
        request.promise.deliver(static_cast<uint64_t>(request.events.size()));
      },
  };
}

std::vector<uint64_t> ids_of(const event_batch& batch, std::optional<uint32_t> slot = {}) {
  std::vector<uint64_t> ids;
  for (const auto& e : batch.events)
    if (!slot || e.event.slot == *slot)
      ids.push_back(e.event.id);
  return ids;
}

struct consumer_fixture : test::caf_fixture {
  prometheus::Registry registry;
  metrics_ptr metrics = std::make_shared<pipeline_metrics>(registry);
  std::shared_ptr<std::atomic<int64_t>> in_flight = std::make_shared<std::atomic<int64_t>>(0);
  fake_outbox outbox;
  std::vector<held_batch> sent;     // batches at the producer
  std::vector<held_delete> deletes; // requests at the cleaner
  consumer_actor con;
  caf::actor prod;
  caf::actor cln;

  consumer_fixture() {
    // Slot 0: package 1 (ids 1..10). Slot 1: package 2 (ids 11..20).
    for (uint64_t id = 1; id <= 10; ++id)
      outbox.add(0, id, 1);
    for (uint64_t id = 11; id <= 20; ++id)
      outbox.add(1, id, 2);
    consumer_settings s;
    s.name = "consumer-1";
    s.relay = "relay-A";
    s.credit = 6;
    s.per_slot = 2;
    s.poll_interval = 1s;
    s.backoff_min = 100ms;
    s.backoff_max = 400ms;
    s.clean_timeout = 30s;
    read_fn read = [this](const std::vector<db::slot_cursor>& slots,
                          const std::vector<uint64_t>& held, size_t per_slot,
                          size_t limit) { return outbox.read(slots, held, per_slot, limit); };
    con = spawn_consumer(
        sys(), spawn_mode::scheduled,
        consumer_deps{s, read, metrics, actor_probes{registry}.make("consumer-1"), in_flight});
    prod = sys().spawn(fake_producer, &sent);
    cln = sys().spawn(fake_cleaner, &deletes, &outbox);
    drain();
  }

  ~consumer_fixture() override {
    self->send_exit(con, caf::exit_reason::kill);
    self->send_exit(prod, caf::exit_reason::kill);
    self->send_exit(cln, caf::exit_reason::kill);
    drain();
  }

  void wire() {
    self->send(con, wire_atom_v, caf::actor_cast<producer_actor>(prod),
               caf::actor_cast<cleaner_actor>(cln));
    drain();
  }

  void assign(std::vector<db::slot_lease> leases) {
    self->send(con, assign_atom_v, std::move(leases));
    drain();
  }

  // The producer answers batch i: delivered, refused and released ids.
  void answer_send(size_t i, std::vector<uint64_t> delivered, std::vector<uint64_t> refused = {},
                   std::vector<uint64_t> released = {}) {
    self->send(prod, i, delivery_result{delivered, refused, released});
    drain();
  }

  void answer_delete(size_t i, bool ok = true) {
    self->send(cln, i, ok);
    drain();
  }

  // Every event sent for `slot`, in the order the producer got them.
  std::vector<uint64_t> sent_of(uint32_t slot) {
    std::vector<uint64_t> out;
    for (const auto& b : sent) {
      auto ids = ids_of(b.batch, slot);
      out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
  }

  size_t sent_count() {
    size_t n = 0;
    for (const auto& b : sent)
      n += b.batch.events.size();
    return n;
  }

  // Replies the test actor got so far (assign and drain answers).
  size_t answers() {
    size_t n = 0;
    while (self->mailbox().size() > 0)
      self->receive([&](bool) { ++n; }, [&](caf::error&) {});
    return n;
  }
};

} // namespace

TEST_CASE_METHOD(consumer_fixture,
                 "a consumer reads only its slots, pipelines batches of a slot within its "
                 "credit, in id order",
                 "[consumer]") {
  wire();
  CHECK(sent.empty()); // no slots yet
  assign({{0, 1}});
  CHECK(sent_count() == 6); // the whole credit, 2 per slot and read
  CHECK(sent.size() == 3);  // three batches of slot 0 in flight at once
  CHECK(sent_of(0) == std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK(sent_of(1).empty());
  CHECK(*in_flight == 6);
  CHECK(metrics->events_in_flight.Value() == 6);

  // Neither a wake nor the poll timer reads more while the credit is spent.
  auto reads = outbox.reads;
  self->send(con, wake_atom_v);
  advance(1s);
  CHECK(outbox.reads == reads);
  CHECK(answers() == 2); // the assignment and the wake were answered
}

TEST_CASE_METHOD(consumer_fixture,
                 "credit comes back when the cleaner deleted, and deletes carry the slot's "
                 "epoch",
                 "[consumer]") {
  wire();
  assign({{0, 7}, {1, 3}});
  REQUIRE(sent_count() == 6);
  auto first = ids_of(sent[0].batch);
  answer_send(0, first);
  REQUIRE(deletes.size() == 1);
  CHECK(deletes[0].events[0].id == first[0]);
  CHECK(deletes[0].events[0].epoch == (deletes[0].events[0].slot == 0 ? 7u : 3u));
  CHECK(sent_count() == 6); // acknowledged but not yet deleted: still in flight
  answer_delete(0);
  CHECK(sent_count() == 6 + first.size());
  CHECK(*in_flight == 6);
}

TEST_CASE_METHOD(consumer_fixture,
                 "a refused event stops its slot until nothing of it is in flight, then the slot "
                 "sends again from that event in a new round after a backoff, other slots flow",
                 "[consumer]") {
  wire();
  assign({{0, 1}});
  REQUIRE(sent.size() == 3); // [1,2] [3,4] [5,6]
  auto old_round = sent[0].batch.events[0].round;
  answer_send(0, {1}, {2});       // 2 refused for good
  answer_send(1, {}, {}, {3, 4}); // the sender released what followed it in that round
  CHECK(deletes.size() == 1);
  answer_delete(0);        // event 1 deleted
  CHECK(sent.size() == 3); // slot 0 waits for [5,6]
  answer_send(2, {}, {}, {5, 6});
  CHECK(sent.size() == 3);  // now it backs off
  assign({{0, 1}, {1, 1}}); // meanwhile slot 1 arrives and flows
  CHECK(sent_of(1) == std::vector<uint64_t>{11, 12, 13, 14, 15, 16});
  for (size_t i = 3; i < sent.size(); ++i)
    answer_send(i, ids_of(sent[i].batch));
  for (size_t i = 1; i < deletes.size(); ++i)
    answer_delete(i);
  CHECK(sent_of(1).size() == 10); // slot 1 went on to its last events
  advance(99ms);
  CHECK(sent_of(0) == std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
  advance(1ms);
  auto again = sent_of(0);
  REQUIRE(again.size() >= 8);
  CHECK(std::vector<uint64_t>(again.begin() + 6, again.begin() + 8)
        == std::vector<uint64_t>{2, 3}); // from the refused event on, in order
  // Both rounds number their records 0, 1, 2, ... (the sender detects a lost batch by a gap).
  std::map<uint64_t, std::vector<uint64_t>> indexes; // round -> indexes of slot 0, in order
  for (const auto& s : sent)
    for (const auto& e : s.batch.events)
      if (e.event.slot == 0)
        indexes[e.round].push_back(e.index);
  REQUIRE(indexes.size() == 2);
  CHECK(indexes.begin()->first == old_round);
  for (const auto& [round, seen] : indexes)
    for (size_t i = 0; i < seen.size(); ++i)
      CHECK(seen[i] == i);
  CHECK(metrics->events_failed.Value() == 0); // counted by the sender, not here
  CHECK(metrics->events_released.Value() == 5);
  CHECK(metrics->events_retried.Value() >= 2);
}

TEST_CASE_METHOD(consumer_fixture,
                 "an event committed late, below the cursor, goes out before the newer events "
                 "of its slot",
                 "[consumer]") {
  outbox.rows.clear();
  outbox.add(0, 1, 1);
  outbox.add(0, 3, 3);
  wire();
  assign({{0, 1}});
  REQUIRE(sent_of(0) == std::vector<uint64_t>{1, 3});
  outbox.add(0, 2, 2); // committed after 3 was read
  outbox.add(0, 4, 2); // the next event of package 2
  self->send(con, wake_atom_v);
  drain();
  CHECK(sent_of(0) == std::vector<uint64_t>{1, 3, 2, 4});
}

TEST_CASE_METHOD(consumer_fixture,
                 "a slot taken away is confirmed once nothing of it is in flight, held again "
                 "in a new epoch it starts from its first event",
                 "[consumer]") {
  wire();
  assign({{0, 1}, {1, 1}});
  REQUIRE(answers() == 1);
  assign({{1, 1}});
  CHECK(answers() == 0); // slot 0 still has events out
  auto batches = sent.size();
  for (size_t i = 0; i < batches; ++i)
    answer_send(i, ids_of(sent[i].batch));
  auto requests = deletes.size();
  for (size_t i = 0; i < requests; ++i)
    answer_delete(i);
  CHECK(answers() == 1);
  auto slot0 = sent_of(0).size();
  assign({{0, 2}, {1, 1}});
  // Slot 1's events hold the credit: slot 0 gets its turn as they are acknowledged and deleted.
  for (size_t i = batches; i < sent.size() && sent_of(0).size() == slot0; ++i) {
    answer_send(i, ids_of(sent[i].batch));
    for (; requests < deletes.size(); ++requests)
      answer_delete(requests);
  }
  REQUIRE(sent_of(0).size() > slot0);                        // reads slot 0 again, in epoch 2
  CHECK(sent_of(0)[slot0] == outbox.rows[0].begin()->first); // its first waiting event
}

TEST_CASE_METHOD(consumer_fixture,
                 "abort hands back what the producer held, the slots send again from their "
                 "first events",
                 "[consumer]") {
  wire();
  assign({{0, 1}});
  REQUIRE(sent.size() == 3);
  self->send(con, abort_atom_v);
  drain();
  CHECK(*in_flight == 6); // read again at once: no backoff after an abort
  CHECK(sent_of(0) == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6});
  answer_send(0, {1, 2}); // a late answer of the aborted round changes nothing
  CHECK(deletes.empty());
  CHECK(metrics->events_retried.Value() == 6);
}

TEST_CASE_METHOD(consumer_fixture,
                 "a failed delete is asked again with backoff, the credit stays spent meanwhile",
                 "[consumer]") {
  wire();
  assign({{0, 1}});
  answer_send(0, {1, 2});
  answer_delete(0, false);
  CHECK(deletes.size() == 1);
  advance(100ms);
  REQUIRE(deletes.size() == 2);
  answer_delete(1, false);
  advance(199ms);
  CHECK(deletes.size() == 2);
  advance(1ms); // doubled
  REQUIRE(deletes.size() == 3);
  CHECK(sent_count() == 6);
  answer_delete(2);
  CHECK(sent_count() == 8);
}

TEST_CASE_METHOD(consumer_fixture, "drain stops reading and answers once nothing is in flight",
                 "[consumer]") {
  wire();
  assign({{0, 1}});
  CHECK(answers() == 1);
  self->send(con, drain_atom_v);
  drain();
  CHECK(answers() == 0);
  for (size_t i = 0; i < 3; ++i)
    answer_send(i, ids_of(sent[i].batch));
  for (size_t i = 0; i < deletes.size(); ++i)
    answer_delete(i);
  CHECK(sent.size() == 3); // nothing read after the drain began
  CHECK(*in_flight == 0);
  CHECK(answers() == 1);
}

TEST_CASE_METHOD(consumer_fixture, "wakes are answered at once and coalesce into one read",
                 "[consumer]") {
  outbox.rows.clear();
  wire();
  assign({{0, 1}});
  auto reads = outbox.reads;
  for (int i = 0; i < 3; ++i)
    self->send(con, wake_atom_v);
  drain();
  CHECK(outbox.reads == reads + 1);
  CHECK(answers() == 4); // the assignment and three wakes
}
