// The batching CleanerActor on CAF's deterministic scheduler, with a fake database.
#include "actors/retranslator/pipeline.hpp"
#include "tests/support/caf_fixture.hpp"

#include <stdexcept>

using namespace lpa;
using namespace std::chrono_literals;

namespace {

struct cleaner_fixture : test::caf_fixture {
  prometheus::Registry registry;
  metrics_ptr metrics = std::make_shared<pipeline_metrics>(registry);
  std::vector<std::vector<db::outbox_outcome>> applied; // one entry per statement
  int failures_left = 0;
  cleaner_actor cln;

  cleaner_fixture() {
    cleaner_settings s;
    s.batch = 3;
    s.interval = 50ms;
    s.backoff_min = 100ms;
    s.backoff_max = 400ms;
    s.max_attempts = 3;
    clean_fn apply = [this](const std::vector<db::outbox_outcome>& outcomes) {
      if (failures_left > 0) {
        --failures_left;
        throw std::runtime_error("database unreachable");
      }
      applied.push_back(outcomes);
      db::clean_result r;
      for (const auto& o : outcomes)
        r.deleted += o.delivered.size();
      return r;
    };
    release_fn release = [](const std::string&) { return size_t{0}; };
    cln = sys().spawn(cleaner, s, apply, release, metrics, actor_probes{registry}.make("cleaner"));
    drain();
  }

  ~cleaner_fixture() override {
    // Stop the actor while the registry its metrics live in still exists.
    self->send_exit(cln, caf::exit_reason::kill);
    drain();
  }

  void clean(std::vector<uint64_t> delivered, std::vector<uint64_t> released = {}) {
    self->send(cln, clean_atom_v, db::outbox_outcome{"owner-1", delivered, released});
    drain();
  }

  // Replies the test actor got so far: true = applied, false = error.
  std::vector<bool> replies() {
    std::vector<bool> out;
    while (self->mailbox().size() > 0)
      self->receive([&](bool ok) { out.push_back(ok); },
                    [&](caf::error&) { out.push_back(false); });
    return out;
  }
};

} // namespace

TEST_CASE_METHOD(cleaner_fixture, "the cleaner flushes as soon as the batch is full", "[cleaner]") {
  clean({1, 2});
  CHECK(applied.empty());
  CHECK(replies().empty()); // nobody is answered before the statement committed
  clean({3}, {4});
  REQUIRE(applied.size() == 1);
  CHECK(applied[0].size() == 2); // both requests in one statement
  CHECK(replies() == std::vector<bool>{true, true});
}

TEST_CASE_METHOD(cleaner_fixture, "the cleaner flushes a partial batch when its timer fires",
                 "[cleaner]") {
  clean({7});
  CHECK(applied.empty());
  advance(49ms);
  CHECK(applied.empty());
  advance(1ms);
  REQUIRE(applied.size() == 1);
  CHECK(applied[0][0].delivered == std::vector<uint64_t>{7});
  CHECK(replies() == std::vector<bool>{true});
}

TEST_CASE_METHOD(cleaner_fixture, "a failed statement is retried with backoff and loses nothing",
                 "[cleaner]") {
  failures_left = 2;
  clean({1, 2, 3}); // full batch: first attempt fails at once
  CHECK(applied.empty());
  advance(100ms); // second attempt, fails
  CHECK(applied.empty());
  clean({4});     // arrives while retrying: joins the pending statement
  advance(200ms); // third attempt succeeds with everything
  REQUIRE(applied.size() == 1);
  REQUIRE(applied[0].size() == 2);
  CHECK(applied[0][0].delivered == std::vector<uint64_t>{1, 2, 3});
  CHECK(applied[0][1].delivered == std::vector<uint64_t>{4});
  CHECK(replies() == std::vector<bool>{true, true});
}

TEST_CASE_METHOD(cleaner_fixture, "after max attempts the waiters get an error, leases decide",
                 "[cleaner]") {
  failures_left = 10;
  clean({1, 2, 3});
  advance(100ms);
  advance(200ms);
  CHECK(applied.empty());
  CHECK(replies() == std::vector<bool>{false});
  failures_left = 0;
  clean({5, 6, 7}); // the cleaner keeps working afterwards
  CHECK(applied.size() == 1);
}
