#include "actors/retranslator/pipeline.hpp"

#include <spdlog/spdlog.h>

namespace lpa {

namespace {

using listener_ptr = listener_actor::stateful_pointer<listener_state>;

// Short enough that the listener answers exit and wiring messages promptly.
constexpr milliseconds listen_slice{100};
constexpr milliseconds reconnect_pause{1000};

} // namespace

listener_actor::behavior_type listener(listener_ptr self, db::store_settings store,
                                       milliseconds poll_interval, metrics_ptr metrics,
                                       actor_probe_ptr probe) {
  self->state.db = std::make_unique<db::outbox_session>(
      store, [](db::outbox_store& s) { s.listen(db::outbox_channel); });
  // First age sample one interval after start: the first statement on the connection is LISTEN.
  self->state.next_age_sample = std::chrono::steady_clock::now() + poll_interval;
  self->send(self, listen_atom_v);
  return {
      [=](listen_atom) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        try {
          auto now = std::chrono::steady_clock::now();
          if (now >= st.next_age_sample) {
            st.next_age_sample = now + poll_interval;
            metrics->oldest_event_age.Set(
                st.db->run([](db::outbox_store& s) { return s.oldest_event_age_seconds(); }));
          }
          auto woken = st.db->run(
              [](db::outbox_store& s) { return s.wait_for_notification(listen_slice); });
          if (woken > 0)
            for (const auto& c : st.consumers)
              self->send(c, claim_atom_v);
          self->send(self, listen_atom_v);
        } catch (const std::exception& e) {
          spdlog::warn("listener: lost PostgreSQL ({}); consumers poll until it is back", e.what());
          self->delayed_send(self, reconnect_pause, listen_atom_v);
        }
      },
      [=](wire_atom, std::vector<consumer_actor> consumers) {
        auto scope = probe->enter(self);
        self->state.consumers = std::move(consumers);
        // A NOTIFY that came before this wiring woke nobody: have the consumers look now.
        for (const auto& c : self->state.consumers)
          self->send(c, claim_atom_v);
      },
  };
}

} // namespace lpa
