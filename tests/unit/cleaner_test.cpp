// The batching CleanerActor on CAF's deterministic scheduler, with a fake database.
#include "actors/retranslator/cleaner_actor.hpp"
#include "tests/support/caf_fixture.hpp"

#include <stdexcept>

using namespace lpa;
using namespace std::chrono_literals;

namespace {

struct cleaner_fixture : test::caf_fixture {
  prometheus::Registry registry;
  metrics_ptr metrics = std::make_shared<pipeline_metrics>(registry);
  std::vector<std::vector<db::delivered_event>> applied; // one entry per statement
  int failures_left = 0;
  cleaner_actor cln;

  cleaner_fixture() {
    cleaner_settings s;
    s.batch = 3;
    s.interval = 50ms;
    s.backoff_min = 100ms;
    s.backoff_max = 400ms;
    s.max_attempts = 3;
    delete_fn apply = [this](const std::vector<db::delivered_event>& events) {
      if (failures_left > 0) {
        --failures_left;
        throw std::runtime_error("database unreachable");
      }
      applied.push_back(events);
      db::delete_result r;
      r.deleted = events.size();
      r.commit_to_delete_seconds.assign(events.size(), 0.01);
      return r;
    };
    cln = spawn_cleaner(sys(), spawn_mode::scheduled, s, apply, metrics,
                        actor_probes{registry}.make("cleaner"));
    drain();
  }

  ~cleaner_fixture() override {
    // Stop the actor while the registry its metrics live in still exists.
    self->send_exit(cln, caf::exit_reason::kill);
    drain();
  }

  void clean(std::vector<uint64_t> ids) {
    std::vector<db::delivered_event> events;
    for (auto id : ids)
      events.push_back({id, static_cast<uint32_t>(id % 4), 1});
    self->send(cln, delete_atom_v, events);
    drain();
  }

  static std::vector<uint64_t> ids(const std::vector<db::delivered_event>& events) {
    std::vector<uint64_t> out;
    for (const auto& e : events)
      out.push_back(e.id);
    return out;
  }

  // Replies the test actor got so far: the count a request covered, or -1 for an error.
  std::vector<int> replies() {
    std::vector<int> out;
    while (self->mailbox().size() > 0)
      self->receive([&](uint64_t n) { out.push_back(static_cast<int>(n)); },
                    [&](caf::error&) { out.push_back(-1); });
    return out;
  }
};

} // namespace

TEST_CASE_METHOD(cleaner_fixture, "the cleaner flushes as soon as the batch is full", "[cleaner]") {
  clean({1, 2});
  CHECK(applied.empty());
  CHECK(replies().empty()); // nobody is answered before the statement committed
  clean({3});
  REQUIRE(applied.size() == 1);
  CHECK(ids(applied[0]) == std::vector<uint64_t>{1, 2, 3}); // both requests in one statement
  CHECK(replies() == std::vector<int>{2, 1});
  CHECK(metrics->commit_to_ack.Collect().histogram.sample_count == 3);
}

TEST_CASE_METHOD(cleaner_fixture, "the cleaner flushes a partial batch when its timer fires",
                 "[cleaner]") {
  clean({7});
  CHECK(applied.empty());
  advance(49ms);
  CHECK(applied.empty());
  advance(1ms);
  REQUIRE(applied.size() == 1);
  CHECK(ids(applied[0]) == std::vector<uint64_t>{7});
  CHECK(replies() == std::vector<int>{1});
}

TEST_CASE_METHOD(cleaner_fixture, "a failed statement is retried with backoff and loses nothing",
                 "[cleaner]") {
  failures_left = 2;
  clean({1, 2, 3}); // full batch: first attempt fails at once
  CHECK(applied.empty());
  advance(100ms); // second attempt, fails
  CHECK(applied.empty());
  clean({4});     // arrives while retrying: joins the pending statement
  advance(200ms); // third attempt succeeds with everything, at most 3 per statement
  REQUIRE(applied.size() == 2);
  CHECK(ids(applied[0]) == std::vector<uint64_t>{1, 2, 3});
  CHECK(ids(applied[1]) == std::vector<uint64_t>{4});
  CHECK(replies() == std::vector<int>{3, 1});
}

TEST_CASE_METHOD(cleaner_fixture,
                 "a request larger than the batch is deleted in statements of at most the batch",
                 "[cleaner]") {
  clean({1, 2, 3, 4, 5, 6, 7});
  REQUIRE(applied.size() == 3);
  CHECK(ids(applied[0]) == std::vector<uint64_t>{1, 2, 3});
  CHECK(ids(applied[1]) == std::vector<uint64_t>{4, 5, 6});
  CHECK(ids(applied[2]) == std::vector<uint64_t>{7});
  CHECK(replies() == std::vector<int>{7}); // answered once, after the last statement
  CHECK(metrics->commit_to_ack.Collect().histogram.sample_count == 7);
}

TEST_CASE_METHOD(cleaner_fixture, "after max attempts the waiters get an error and ask again",
                 "[cleaner]") {
  failures_left = 10;
  clean({1, 2, 3});
  advance(100ms);
  advance(200ms);
  CHECK(applied.empty());
  CHECK(replies() == std::vector<int>{-1});
  failures_left = 0;
  clean({5, 6, 7}); // the cleaner keeps working afterwards
  CHECK(applied.size() == 1);
}
