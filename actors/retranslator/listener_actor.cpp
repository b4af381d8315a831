#include "actors/retranslator/listener_actor.hpp"

#include <spdlog/spdlog.h>

namespace lpa {

namespace {

// Short enough that the listener answers exit, wiring and wake answers promptly.
constexpr milliseconds listen_slice{100};
constexpr milliseconds reconnect_pause{1000};

struct wake_state {
  bool awaiting = false; // a wake was sent and not answered yet
  bool again = false;    // a notification came meanwhile: wake once more after the answer
};

struct listener_state {
  std::unique_ptr<db::outbox_session> db;
  std::vector<consumer_actor> consumers;
  std::vector<wake_state> wakes;
  std::chrono::steady_clock::time_point next_age_sample;
  static inline const char* name = "listener";
};

using listener_ptr = listener_actor::stateful_pointer<listener_state>;

void wake(listener_ptr self, size_t index) {
  auto& st = self->state;
  auto& w = st.wakes[index];
  if (!st.consumers[index]) // restarting
    return;
  if (w.awaiting) {
    w.again = true;
    return;
  }
  w.awaiting = true;
  w.again = false;
  auto consumer = st.consumers[index];
  self->request(consumer, caf::infinite, wake_atom_v)
      .then(
          [=](bool) {
            auto& st = self->state;
            if (index >= st.consumers.size() || st.consumers[index] != consumer)
              return; // rewired meanwhile
            st.wakes[index].awaiting = false;
            if (st.wakes[index].again)
              wake(self, index);
          },
          [=](caf::error&) {
            auto& st = self->state;
            if (index < st.consumers.size() && st.consumers[index] == consumer)
              st.wakes[index].awaiting = false;
          });
}

void wake_all(listener_ptr self) {
  for (size_t i = 0; i < self->state.consumers.size(); ++i)
    wake(self, i);
}

listener_actor::behavior_type listener(listener_ptr self, db::store_settings store,
                                       milliseconds sample_interval, metrics_ptr metrics,
                                       actor_probe_ptr probe) {
  self->state.db = std::make_unique<db::outbox_session>(
      store, [](db::outbox_store& s) { s.listen(db::outbox_channel); },
      [metrics](const std::exception&) { metrics->db_errors.Increment(); });
  // First age sample one interval after start: the first statement on the connection is LISTEN.
  self->state.next_age_sample = std::chrono::steady_clock::now() + sample_interval;
  self->send(self, listen_atom_v);
  return {
      [=](listen_atom) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        try {
          auto now = std::chrono::steady_clock::now();
          if (now >= st.next_age_sample) {
            st.next_age_sample = now + sample_interval;
            metrics->oldest_event_age.Set(
                st.db->run([](db::outbox_store& s) { return s.oldest_event_age_seconds(); }));
          }
          auto woken = st.db->run(
              [](db::outbox_store& s) { return s.wait_for_notification(listen_slice); });
          if (woken > 0)
            wake_all(self);
          self->send(self, listen_atom_v);
        } catch (const std::exception& e) {
          spdlog::warn("listener: lost PostgreSQL ({}); consumers poll until it is back", e.what());
          self->delayed_send(self, reconnect_pause, listen_atom_v);
        }
      },
      [=](wire_atom, std::vector<consumer_actor> consumers) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        st.consumers = std::move(consumers);
        st.wakes.assign(st.consumers.size(), wake_state{});
        // A NOTIFY that came before this wiring woke nobody: have the consumers look now.
        wake_all(self);
      },
  };
}

} // namespace

listener_actor spawn_listener(caf::actor_system& sys, db::store_settings store,
                              milliseconds sample_interval, metrics_ptr metrics,
                              actor_probe_ptr probe) {
  return sys.spawn<caf::detached>(listener, std::move(store), sample_interval, std::move(metrics),
                                  std::move(probe));
}

} // namespace lpa
