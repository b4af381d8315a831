#include "actors/retranslator/cleaner_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace lpa {

namespace {

struct cleaner_state {
  struct waiting {
    std::vector<db::delivered_event> events;
    caf::typed_response_promise<uint64_t> promise;
  };
  std::vector<waiting> pending;
  size_t pending_events = 0;
  bool flush_scheduled = false;
  uint32_t failed_attempts = 0;
  static inline const char* name = "cleaner";
};

using cleaner_ptr = cleaner_actor::stateful_pointer<cleaner_state>;

// Deletes `events` in statements of at most `batch` each: one consumer's request may carry a
// whole window, and a statement that large holds its row locks long enough to time out while
// slots change hands.
void delete_in_statements(const std::vector<db::delivered_event>& events, size_t batch,
                          const delete_fn& apply, const pipeline_metrics& metrics) {
  for (size_t first = 0; first < events.size(); first += batch) {
    auto last = std::min(events.size(), first + batch);
    auto result = apply({events.begin() + first, events.begin() + last});
    for (auto seconds : result.commit_to_delete_seconds)
      metrics.commit_to_ack.Observe(seconds);
  }
}

// Everything waiting, in statements of at most `batch` events; every waiter is answered once all
// committed. A failed statement keeps the requests and tries them all again with backoff (a delete
// that already happened is a no-op); after max_attempts the waiters get an error (they ask again
// later: a delivered event stays in flight until deleted).
void flush(cleaner_ptr self, const cleaner_settings& settings, const delete_fn& apply,
           const pipeline_metrics& metrics) {
  auto& st = self->state;
  if (st.pending.empty())
    return;
  std::vector<db::delivered_event> events;
  events.reserve(st.pending_events);
  for (const auto& w : st.pending)
    events.insert(events.end(), w.events.begin(), w.events.end());
  try {
    delete_in_statements(events, settings.batch, apply, metrics);
    for (auto& w : st.pending)
      w.promise.deliver(static_cast<uint64_t>(w.events.size()));
    st.failed_attempts = 0;
  } catch (const std::exception& e) {
    ++st.failed_attempts;
    if (st.failed_attempts < settings.max_attempts) {
      auto delay
          = exponential_backoff(settings.backoff_min, settings.backoff_max, st.failed_attempts - 1);
      spdlog::warn("cleaner: deleting {} event(s) failed (attempt {}), retrying in {} ms: {}",
                   events.size(), st.failed_attempts, delay.count(), e.what());
      st.flush_scheduled = true;
      self->delayed_send(self, delay, flush_atom_v);
      return;
    }
    spdlog::error("cleaner: giving up on deleting {} event(s) after {} attempts: {}", events.size(),
                  st.failed_attempts, e.what());
    for (auto& w : st.pending)
      w.promise.deliver(caf::make_error(caf::sec::runtime_error));
    st.failed_attempts = 0;
  }
  st.pending.clear();
  st.pending_events = 0;
}

cleaner_actor::behavior_type cleaner(cleaner_ptr self, cleaner_settings settings, delete_fn apply,
                                     metrics_ptr metrics, actor_probe_ptr probe) {
  return {
      [=](delete_atom, std::vector<db::delivered_event>& events) -> caf::result<uint64_t> {
        auto scope = probe->enter(self);
        auto& st = self->state;
        auto promise = self->make_response_promise<uint64_t>();
        st.pending_events += events.size();
        st.pending.push_back({std::move(events), promise});
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
  };
}

} // namespace

cleaner_actor spawn_cleaner(caf::actor_system& sys, spawn_mode mode, cleaner_settings settings,
                            delete_fn apply, metrics_ptr metrics, actor_probe_ptr probe) {
  return spawn_in(sys, mode, cleaner, std::move(settings), std::move(apply), std::move(metrics),
                  std::move(probe));
}

} // namespace lpa
