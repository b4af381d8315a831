#pragma once

// Deterministic CAF 0.17.6 tests under Catch2: drives CAF's test_coordinator directly (CAF's own
// test DSL only works under CAF's runner).

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace lpa::test {

class caf_fixture {
public:
  caf_fixture()
      : sys_(init(cfg_)), sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
        self(sys_, true) {}

  virtual ~caf_fixture() {
    // Pending timers hold strong references: fire them or ~actor_system waits forever.
    while (sched.run() + sched.trigger_timeouts() > 0)
      ; // nop
  }

  caf::actor_system& sys() { return sys_; }

  // Delivers messages until every mailbox is empty; timers stay pending.
  size_t drain() { return sched.run(); }

  // Advances virtual time, fires the timers that became due, and delivers what they sent.
  void advance(caf::timespan t) {
    sched.advance_time(t);
    drain();
  }

private:
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;

public:
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
};

} // namespace lpa::test
