// The SenderActor against librdkafka's mock cluster: what it does with records whose round has a
// gap (a batch lost on the way with a stage that died) or that belong to a round its slot already
// left behind.
#include "actors/retranslator/event_encoding.hpp"
#include "actors/retranslator/sender_actor.hpp"
#include "tests/support/mock_kafka.hpp"
#include "tests/support/topic_reader.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace lpa;
using namespace lpa::test;
using namespace std::chrono_literals;

namespace {

const std::string topic = "sender-test-events";

struct sender_fixture {
  mock_kafka kafka;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  prometheus::Registry registry;
  metrics_ptr metrics = std::make_shared<pipeline_metrics>(registry);
  actor_probes probes{registry};
  sender_actor sender;

  sender_fixture() {
    register_retranslator_protocol(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    kafka.create_topic(topic, 1);
    sender = spawn_sender(*sys, {kafka.bootstrap(), topic, 1, 1000}, metrics, probes.make("sender"),
                          std::make_shared<tracing::tracer>());
  }

  ~sender_fixture() {
    caf::anon_send_exit(sender, caf::exit_reason::user_shutdown);
    sender = nullptr; // a detached actor's thread ends once no handle refers to it
    sys.reset();
  }

  // Records of slot 0 for events `first`..`first+count-1` of package 1, numbered from
  // `first_index` in `round`.
  static std::vector<kafka_record> records(uint64_t round, uint64_t first_index, uint64_t first,
                                           size_t count) {
    std::vector<kafka_record> out;
    for (size_t i = 0; i < count; ++i) {
      batch_event e;
      e.event.id = first + i;
      e.event.package_id = 1;
      e.event.package_seq = first + i;
      e.event.type = "Updated";
      e.round = round;
      e.index = first_index + i;
      out.push_back(encode(e));
    }
    return out;
  }

  delivery_result send(std::vector<kafka_record> batch) {
    caf::scoped_actor self{*sys};
    delivery_result out;
    self->request(sender, caf::duration{30s}, send_atom_v, std::move(batch))
        .receive([&](delivery_result& r) { out = std::move(r); },
                 [&](caf::error& err) { FAIL("sender did not answer: " << sys->render(err)); });
    return out;
  }

  // Event ids in the topic, in offset order, once `count` arrived.
  std::vector<uint64_t> topic_ids(size_t count) {
    topic_reader reader{kafka.bootstrap(), topic};
    auto events = reader.read_until([&](const auto& seen) { return seen.size() >= count; }, 30s);
    std::vector<uint64_t> ids;
    for (const auto& e : events)
      ids.push_back(e.event_id);
    return ids;
  }
};

} // namespace

TEST_CASE_METHOD(sender_fixture,
                 "A round whose earlier batch never reached the sender is not produced: its "
                 "records come back released, and the slot's next round goes out",
                 "[sender]") {
  auto first = send(records(10, 0, 1, 2)); // events 1, 2
  CHECK(first.delivered == std::vector<uint64_t>{1, 2});
  // Events 3 and 4 (indexes 2, 3) were lost with a producer that died; 5 and 6 arrive.
  auto gap = send(records(10, 4, 5, 2));
  CHECK(gap.delivered.empty());
  CHECK(gap.released == std::vector<uint64_t>{5, 6});
  // The rest of that round, too.
  CHECK(send(records(10, 6, 7, 1)).released == std::vector<uint64_t>{7});
  // The consumer starts over from its first waiting event in a new round.
  auto again = send(records(11, 0, 3, 4));
  CHECK(again.delivered == std::vector<uint64_t>{3, 4, 5, 6});
  CHECK(topic_ids(6) == std::vector<uint64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE_METHOD(sender_fixture,
                 "A record of a round its slot already left behind is stale: it is released, "
                 "not produced",
                 "[sender]") {
  CHECK(send(records(20, 0, 1, 1)).delivered == std::vector<uint64_t>{1});
  CHECK(send(records(21, 0, 1, 2)).delivered == std::vector<uint64_t>{1, 2});
  CHECK(send(records(20, 1, 2, 1)).released == std::vector<uint64_t>{2});
  CHECK(send(records(21, 2, 3, 1)).delivered == std::vector<uint64_t>{3});
  CHECK(topic_ids(4) == std::vector<uint64_t>{1, 1, 2, 3});
}
