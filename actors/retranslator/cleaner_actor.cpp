#include "actors/retranslator/pipeline.hpp"

#include <spdlog/spdlog.h>

namespace lpa {

namespace {

using cleaner_ptr = cleaner_actor::stateful_pointer<cleaner_state>;

// One statement for everything waiting; every waiter is answered once it committed. A failed
// statement keeps the outcomes and tries again with backoff; after max_attempts the waiters get
// an error, stop renewing those leases, and the events come back when the leases end.
void flush(cleaner_ptr self, const cleaner_settings& settings, const clean_fn& apply,
           const pipeline_metrics& metrics) {
  auto& st = self->state;
  if (st.pending.empty())
    return;
  std::vector<db::outbox_outcome> outcomes;
  outcomes.reserve(st.pending.size());
  for (const auto& w : st.pending)
    outcomes.push_back(w.outcome);
  try {
    auto result = apply(outcomes);
    metrics.events_released.Increment(static_cast<double>(result.released));
    for (auto seconds : result.commit_to_delete_seconds)
      metrics.commit_to_ack.Observe(seconds);
    for (auto& w : st.pending)
      w.promise.deliver(true);
    st.failed_attempts = 0;
  } catch (const std::exception& e) {
    ++st.failed_attempts;
    if (st.failed_attempts < settings.max_attempts) {
      auto delay
          = exponential_backoff(settings.backoff_min, settings.backoff_max, st.failed_attempts - 1);
      spdlog::warn("cleaner: applying {} outcome(s) failed (attempt {}), retrying in {} ms: {}",
                   outcomes.size(), st.failed_attempts, delay.count(), e.what());
      st.flush_scheduled = true;
      self->delayed_send(self, delay, flush_atom_v);
      return;
    }
    spdlog::error("cleaner: giving up on {} outcome(s) after {} attempts; their leases will "
                  "expire: {}",
                  outcomes.size(), st.failed_attempts, e.what());
    for (auto& w : st.pending)
      w.promise.deliver(caf::make_error(caf::sec::runtime_error));
    st.failed_attempts = 0;
  }
  st.pending.clear();
  st.pending_events = 0;
}

} // namespace

cleaner_actor::behavior_type cleaner(cleaner_ptr self, cleaner_settings settings, clean_fn apply,
                                     release_fn release, metrics_ptr metrics,
                                     actor_probe_ptr probe) {
  return {
      [=](clean_atom, db::outbox_outcome& outcome) -> caf::result<bool> {
        auto scope = probe->enter(self);
        auto& st = self->state;
        auto events = outcome.delivered.size() + outcome.released.size();
        auto promise = self->make_response_promise<bool>();
        st.pending.push_back({std::move(outcome), promise});
        st.pending_events += events;
        if (st.failed_attempts == 0 && st.pending_events >= settings.batch) {
          flush(self, settings, apply, *metrics);
        } else if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->delayed_send(self, settings.interval, flush_atom_v);
        }
        return promise;
      },
      [=](flush_atom) {
        auto scope = probe->enter(self);
        self->state.flush_scheduled = false;
        flush(self, settings, apply, *metrics);
      },
      [=](release_atom, const std::string& owner) -> caf::result<uint64_t> {
        auto scope = probe->enter(self);
        try {
          auto n = release(owner);
          metrics->events_released.Increment(static_cast<double>(n));
          spdlog::info("cleaner: released {} event(s) of {}", n, owner);
          return static_cast<uint64_t>(n);
        } catch (const std::exception& e) {
          spdlog::warn("cleaner: cannot release the events of {} (their leases will expire): {}",
                       owner, e.what());
          return caf::make_error(caf::sec::runtime_error);
        }
      },
  };
}

} // namespace lpa
