// The ConsumerActor's credit protocol on CAF's deterministic scheduler, with a fake outbox, a
// fake producer and a fake cleaner that hold every request until the test answers it.
#include "actors/retranslator/pipeline.hpp"
#include "tests/support/caf_fixture.hpp"

#include <deque>
#include <numeric>

using namespace lpa;
using namespace std::chrono_literals;

namespace {

struct held_batch {
  event_batch batch;
  caf::typed_response_promise<delivery_result> promise;
};

struct held_clean {
  db::outbox_outcome outcome;
  caf::typed_response_promise<bool> promise;
};

// Promises are answered from inside the fake's own handlers: CAF's test coordinator gives an
// actor an execution context only while it runs. (index, answer) answers request number index.
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

caf::behavior fake_cleaner(caf::event_based_actor* self, std::vector<held_clean>* held) {
  return {
      [=](clean_atom, db::outbox_outcome& outcome) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        held->push_back({std::move(outcome), promise});
        return promise;
      },
      [=](size_t index, bool applied) {
        if (applied)
          held->at(index).promise.deliver(true);
        else
          held->at(index).promise.deliver(caf::make_error(caf::sec::runtime_error));
      },
  };
}

std::vector<uint64_t> ids_of(const event_batch& batch) {
  std::vector<uint64_t> ids;
  for (const auto& e : batch.events)
    ids.push_back(e.id);
  return ids;
}

struct consumer_fixture : test::caf_fixture {
  prometheus::Registry registry;
  metrics_ptr metrics = std::make_shared<pipeline_metrics>(registry);
  std::shared_ptr<std::atomic<int64_t>> in_flight = std::make_shared<std::atomic<int64_t>>(0);
  std::deque<uint64_t> table;      // claimable event ids, oldest first
  std::vector<size_t> claims;      // the limit of every claim the consumer made
  std::vector<uint64_t> renewed;   // ids of the last renew
  std::vector<held_batch> sent;    // batches at the producer
  std::vector<held_clean> cleaned; // outcomes at the cleaner
  consumer_actor con;
  caf::actor prod;
  caf::actor cln;

  consumer_fixture() {
    table.resize(20);
    std::iota(table.begin(), table.end(), uint64_t{1});
    consumer_settings s;
    s.name = "consumer-0";
    s.owner = "test/consumer-0#1";
    s.batch = 2;
    s.credit = 5;
    s.lease = 30s;
    s.poll_interval = 1s;
    s.backoff_min = 100ms;
    s.backoff_max = 400ms;
    s.clean_attempts = 3;
    consumer_outbox outbox{
        [this](const std::string&, size_t limit, milliseconds) {
          claims.push_back(limit);
          std::vector<db::outbox_event> events;
          while (events.size() < limit && !table.empty()) {
            db::outbox_event e;
            e.id = e.package_id = table.front();
            events.push_back(e);
            table.pop_front();
          }
          return events;
        },
        [this](const std::string&, const std::vector<uint64_t>& ids, milliseconds) {
          renewed = ids;
          return ids.size();
        },
        [](const std::string&) { return size_t{0}; },
    };
    con = sys().spawn(consumer, s, outbox, in_flight, metrics,
                      actor_probes{registry}.make("consumer-0"));
    prod = sys().spawn(fake_producer, &sent);
    cln = sys().spawn(fake_cleaner, &cleaned);
    drain();
  }

  ~consumer_fixture() override {
    self->send_exit(con, caf::exit_reason::kill);
    self->send_exit(prod, caf::exit_reason::kill);
    self->send_exit(cln, caf::exit_reason::kill);
    drain();
  }

  void wire() {
    self->send(con, wire_atom_v, std::vector<producer_actor>{caf::actor_cast<producer_actor>(prod)},
               caf::actor_cast<cleaner_actor>(cln));
    drain();
  }

  // The producer answers batch i: the first `delivered` events reached Kafka, the rest failed.
  void answer_send(size_t i, size_t delivered) {
    auto ids = ids_of(sent.at(i).batch);
    delivery_result r;
    r.delivered.assign(ids.begin(), ids.begin() + delivered);
    r.failed.assign(ids.begin() + delivered, ids.end());
    self->send(prod, i, std::move(r));
    drain();
  }

  void answer_clean(size_t i, bool applied = true) {
    self->send(cln, i, applied);
    drain();
  }

  size_t events_sent_to_producer() {
    size_t n = 0;
    for (const auto& b : sent)
      n += b.batch.events.size();
    return n;
  }
};

} // namespace

TEST_CASE_METHOD(consumer_fixture,
                 "a consumer claims only while its events in flight stay "
                 "below its credit",
                 "[consumer]") {
  CHECK(claims.empty()); // nothing to send to before the supervisor wires it
  wire();
  CHECK(claims == std::vector<size_t>{2, 2, 1}); // batches of 2, the last one cut to the credit
  CHECK(events_sent_to_producer() == 5);
  CHECK(*in_flight == 5);
  CHECK(metrics->events_in_flight.Value() == 5);

  // Neither a NOTIFY wake-up nor the poll timer claims more while the window is full.
  self->send(con, claim_atom_v);
  advance(1s);
  advance(1s);
  CHECK(claims.size() == 3);
  CHECK(table.size() == 15);
}

TEST_CASE_METHOD(consumer_fixture,
                 "credit comes back when the cleaner answers, not when Kafka "
                 "does",
                 "[consumer]") {
  wire();
  answer_send(0, 2);
  REQUIRE(cleaned.size() == 1);
  CHECK(cleaned[0].outcome.owner == "test/consumer-0#1");
  CHECK(cleaned[0].outcome.delivered == std::vector<uint64_t>{1, 2});
  CHECK(cleaned[0].outcome.released.empty());
  CHECK(claims.size() == 3); // delivered but not yet deleted: still in flight
  CHECK(*in_flight == 5);

  answer_clean(0);
  CHECK(claims == std::vector<size_t>{2, 2, 1, 2}); // exactly the two returned credits
  CHECK(*in_flight == 5);
  CHECK(events_sent_to_producer() == 7);
}

TEST_CASE_METHOD(consumer_fixture,
                 "events Kafka refused for good are released after a "
                 "growing backoff, holding their credit meanwhile",
                 "[consumer]") {
  wire();
  answer_send(1, 1); // event 4 refused
  CHECK(cleaned.empty());
  advance(99ms);
  CHECK(cleaned.empty());
  advance(1ms);
  REQUIRE(cleaned.size() == 1);
  CHECK(cleaned[0].outcome.delivered == std::vector<uint64_t>{3});
  CHECK(cleaned[0].outcome.released == std::vector<uint64_t>{4});
  CHECK(claims.size() == 3); // the credit came back with the cleaner's answer only

  answer_send(2, 0); // refused again in a row: twice the wait
  advance(199ms);
  CHECK(cleaned.size() == 1);
  advance(1ms);
  REQUIRE(cleaned.size() == 2);
  CHECK(cleaned[1].outcome.released == std::vector<uint64_t>{5});

  answer_send(0, 2); // a clean delivery goes to the cleaner at once and resets the backoff
  REQUIRE(cleaned.size() == 3);
  answer_clean(0); // credit for two more: events 6 and 7
  REQUIRE(sent.size() == 4);
  answer_send(3, 0);
  advance(100ms);
  REQUIRE(cleaned.size() == 4);
  CHECK(cleaned[3].outcome.released == std::vector<uint64_t>{6, 7});
}

TEST_CASE_METHOD(consumer_fixture, "abort releases every batch the dead sender held",
                 "[consumer]") {
  wire();
  answer_send(0, 2); // this one is already past the sender
  self->send(con, abort_atom_v);
  drain();
  REQUIRE(cleaned.size() == 3);
  CHECK(cleaned[1].outcome.delivered.empty());
  CHECK(cleaned[1].outcome.released == std::vector<uint64_t>{3, 4});
  CHECK(cleaned[2].outcome.released == std::vector<uint64_t>{5});

  // A late answer from the dead sender's generation changes nothing.
  answer_send(1, 2);
  CHECK(cleaned.size() == 3);
  for (size_t i = 0; i < cleaned.size(); ++i)
    answer_clean(i);
  CHECK(claims == std::vector<size_t>{2, 2, 1, 2, 2, 1});
  CHECK(*in_flight == 5);
}

TEST_CASE_METHOD(consumer_fixture,
                 "a failed clean request is retried with backoff, then left "
                 "to the lease",
                 "[consumer]") {
  wire();
  answer_send(2, 1);
  REQUIRE(cleaned.size() == 1);
  answer_clean(0, false);
  CHECK(cleaned.size() == 1);
  advance(99ms);
  CHECK(cleaned.size() == 1);
  advance(1ms); // first retry after backoff_min
  REQUIRE(cleaned.size() == 2);
  CHECK(cleaned[1].outcome.delivered == std::vector<uint64_t>{5});
  answer_clean(1, false);
  advance(200ms); // doubled
  REQUIRE(cleaned.size() == 3);
  CHECK(claims.size() == 3);

  // The third failure is the last: the batch stops being renewed and its credit returns.
  answer_clean(2, false);
  CHECK(claims == std::vector<size_t>{2, 2, 1, 1});
  advance(10s);
  CHECK(renewed == std::vector<uint64_t>{1, 2, 3, 4, 6});
}

TEST_CASE_METHOD(consumer_fixture,
                 "held events have their leases renewed every third of the "
                 "lease",
                 "[consumer]") {
  wire();
  answer_send(0, 2); // at the cleaner: still held
  advance(9s);
  CHECK(renewed.empty());
  advance(1s);
  CHECK(renewed == std::vector<uint64_t>{3, 4, 5, 1, 2});
}

TEST_CASE_METHOD(consumer_fixture, "drain stops claiming and answers once nothing is in flight",
                 "[consumer]") {
  wire();
  self->send(con, drain_atom_v);
  drain();
  CHECK(self->mailbox().size() == 0); // three batches still out
  answer_send(0, 2);
  answer_send(1, 2);
  answer_send(2, 1);
  for (size_t i = 0; i < cleaned.size(); ++i)
    answer_clean(i);
  CHECK(claims.size() == 3); // no credit is spent after the drain began
  CHECK(*in_flight == 0);
  REQUIRE(self->mailbox().size() == 1);
  bool drained = false;
  self->receive([&](bool ok) { drained = ok; });
  CHECK(drained);
}
