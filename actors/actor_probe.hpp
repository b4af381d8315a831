#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>

namespace lpa {

// Per-actor inspection metrics (CAF 0.17 has no telemetry of its own), labelled by the
// actor's name. A probe outlives restarts: the supervisor hands the same probe to each
// incarnation, so counters keep counting.
class actor_probe {
public:
  actor_probe(prometheus::Gauge& mailbox, prometheus::Counter& processed,
              prometheus::Counter& busy_seconds, prometheus::Counter& restarts)
      : mailbox_(mailbox), processed_(processed), busy_seconds_(busy_seconds), restarts_(restarts) {
  }

  // Times one handler invocation; create it first thing in a handler.
  class scope {
  public:
    explicit scope(actor_probe& probe) : probe_(probe), started_(clock::now()) {}
    ~scope() {
      probe_.processed_.Increment();
      probe_.busy_seconds_.Increment(
          std::chrono::duration<double>(clock::now() - started_).count());
    }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

  private:
    using clock = std::chrono::steady_clock;
    actor_probe& probe_;
    clock::time_point started_;
  };

  // `self` is the actor itself: its mailbox may only be read from its own handlers.
  template <class Self>
  scope enter(Self* self) {
    mailbox_.Set(static_cast<double>(self->mailbox().size()));
    return scope{*this};
  }

  void restarted() { restarts_.Increment(); }

private:
  prometheus::Gauge& mailbox_;
  prometheus::Counter& processed_;
  prometheus::Counter& busy_seconds_;
  prometheus::Counter& restarts_;
};

using actor_probe_ptr = std::shared_ptr<actor_probe>;

// The metric families behind the probes.
class actor_probes {
public:
  explicit actor_probes(prometheus::Registry& registry);
  actor_probe_ptr make(const std::string& actor_name);

private:
  prometheus::Family<prometheus::Gauge>& mailbox_;
  prometheus::Family<prometheus::Counter>& processed_;
  prometheus::Family<prometheus::Counter>& busy_seconds_;
  prometheus::Family<prometheus::Counter>& restarts_;
};

} // namespace lpa
