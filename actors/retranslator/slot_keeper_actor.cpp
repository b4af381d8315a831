#include "actors/retranslator/slot_keeper_actor.hpp"

#include "actors/retranslator/slot_assignment.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace lpa {

namespace {

struct slot_keeper_state {
  slot_keeper_settings settings;
  slot_leases leases;
  metrics_ptr metrics;
  std::vector<consumer_actor> consumers;
  std::vector<std::vector<db::slot_lease>> sent; // the assignment each consumer got last
  std::vector<db::slot_lease> held;              // read by our consumers
  std::vector<db::slot_lease> handing_over;      // no longer read; released once settled
  size_t unanswered = 0;                         // assignments consumers did not confirm yet
  bool draining = false;
  uint32_t failures = 0;
  static inline const char* name = "slot-keeper";
};

using keeper_ptr = slot_keeper_actor::stateful_pointer<slot_keeper_state>;

bool contains(const std::vector<db::slot_lease>& xs, const db::slot_lease& x) {
  return std::any_of(xs.begin(), xs.end(),
                     [&](const auto& y) { return y.slot == x.slot && y.epoch == x.epoch; });
}

void report_slots_owned(const slot_keeper_state& st) {
  st.metrics->slots_owned.Set(static_cast<double>(st.held.size() + st.handing_over.size()));
}

void release_handed_over(keeper_ptr self) {
  auto& st = self->state;
  if (st.handing_over.empty())
    return;
  try {
    auto n = st.leases.release(st.settings.relay, st.handing_over);
    spdlog::info("slot-keeper: handed over {} slot(s) to the other retranslators", n);
  } catch (const std::exception& e) {
    st.metrics->db_errors.Increment();
    spdlog::warn("slot-keeper: cannot release {} slot(s) (their leases will expire): {}",
                 st.handing_over.size(), e.what());
  }
  st.handing_over.clear();
  report_slots_owned(st);
}

// Sends every consumer whose slots changed its new set; once every assignment was confirmed
// (nothing of a dropped slot in flight any more), slots being handed over are released.
void push_assignments(keeper_ptr self) {
  auto& st = self->state;
  if (st.consumers.empty())
    return;
  auto wanted = split_among(st.held, st.consumers.size());
  st.sent.resize(st.consumers.size());
  for (size_t i = 0; i < st.consumers.size(); ++i) {
    if (wanted[i].size() == st.sent[i].size()
        && std::equal(
            wanted[i].begin(), wanted[i].end(), st.sent[i].begin(),
            [](const auto& a, const auto& b) { return a.slot == b.slot && a.epoch == b.epoch; }))
      continue;
    st.sent[i] = wanted[i];
    ++st.unanswered;
    auto answered = [=] {
      if (--self->state.unanswered == 0)
        release_handed_over(self);
    };
    self->request(st.consumers[i], st.settings.handover_timeout, assign_atom_v, wanted[i])
        .then([=](bool) { answered(); }, [=](caf::error&) { answered(); });
  }
  if (st.unanswered == 0)
    release_handed_over(self);
}

void tick(keeper_ptr self) {
  auto& st = self->state;
  const auto& s = st.settings;
  db::membership m;
  try {
    m = st.leases.heartbeat(s.relay, s.lease);
    if (st.failures > 0)
      spdlog::info("slot-keeper: heartbeats get through again");
    st.failures = 0;
  } catch (const std::exception& e) {
    st.metrics->db_errors.Increment();
    if (st.failures++ == 0)
      spdlog::warn("slot-keeper: heartbeat failed (leases last {} ms): {}", s.lease.count(),
                   e.what());
    return;
  }
  // What we held and no longer hold was taken over after our lease expired.
  std::vector<db::slot_lease> still;
  std::vector<uint32_t> lost;
  for (const auto& lease : st.held) {
    if (contains(m.held, lease))
      still.push_back(lease);
    else
      lost.push_back(lease.slot);
  }
  if (!lost.empty())
    spdlog::warn("slot-keeper: {} slot(s) (the first: {}) were taken over by other retranslators "
                 "after our lease expired; dropping them",
                 lost.size(), lost.front());
  st.held = std::move(still);
  // Slots in the database we do not know of yet (ours from before a restart of this actor).
  for (const auto& lease : m.held)
    if (!contains(st.held, lease) && !contains(st.handing_over, lease))
      st.held.push_back(lease);
  st.metrics->relays_live.Set(static_cast<double>(m.live_relays));
  if (!st.draining && st.handing_over.empty()) {
    auto plan = rebalance(m.held, m.slot_count, m.live_relays);
    if (plan.acquire > 0) {
      try {
        auto got = st.leases.acquire(s.relay, plan.acquire, s.lease);
        if (!got.leases.empty())
          spdlog::info("slot-keeper: took {} slot(s) ({} from a retranslator whose lease "
                       "expired); {} live retranslator(s)",
                       got.leases.size(), got.taken_over, m.live_relays);
        st.metrics->slot_takeovers.Increment(static_cast<double>(got.taken_over));
        st.held.insert(st.held.end(), got.leases.begin(), got.leases.end());
      } catch (const std::exception& e) {
        st.metrics->db_errors.Increment();
        spdlog::warn("slot-keeper: cannot take slots: {}", e.what());
      }
    } else if (!plan.release.empty()) {
      spdlog::info("slot-keeper: handing {} slot(s) over ({} live retranslators)",
                   plan.release.size(), m.live_relays);
      st.handing_over = plan.release;
      st.held.erase(std::remove_if(st.held.begin(), st.held.end(),
                                   [&](const auto& l) { return contains(st.handing_over, l); }),
                    st.held.end());
    }
  }
  report_slots_owned(st);
  push_assignments(self);
}

slot_keeper_actor::behavior_type slot_keeper(keeper_ptr self, slot_keeper_settings settings,
                                             slot_leases leases, metrics_ptr metrics,
                                             actor_probe_ptr probe) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.leases = std::move(leases);
  st.metrics = std::move(metrics);
  self->send(self, tick_atom_v);
  return {
      [=](tick_atom) {
        auto scope = probe->enter(self);
        if (self->state.draining)
          return;
        tick(self);
        self->delayed_send(self, self->state.settings.tick, tick_atom_v);
      },
      [=](wire_atom, std::vector<consumer_actor> consumers) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        st.consumers = std::move(consumers);
        st.sent.assign(st.consumers.size(), {});
        push_assignments(self);
      },
      [=](drain_atom) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        st.draining = true;
        try {
          st.leases.leave(st.settings.relay);
          spdlog::info("slot-keeper: released every slot");
        } catch (const std::exception& e) {
          st.metrics->db_errors.Increment();
          spdlog::warn("slot-keeper: cannot release the slots (their leases will expire): {}",
                       e.what());
        }
        st.metrics->slots_owned.Set(0);
        return true;
      },
  };
}

} // namespace

slot_keeper_actor spawn_slot_keeper(caf::actor_system& sys, slot_keeper_settings settings,
                                    slot_leases leases, metrics_ptr metrics,
                                    actor_probe_ptr probe) {
  return sys.spawn<caf::detached>(slot_keeper, std::move(settings), std::move(leases),
                                  std::move(metrics), std::move(probe));
}

} // namespace lpa
