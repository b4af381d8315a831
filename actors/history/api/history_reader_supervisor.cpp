#include "actors/history/api/history_reader_supervisor.hpp"

#include "actors/history/api/history_reader.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

namespace lpa::history_api {

namespace {

using sup_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

void start(sup_ptr self, size_t index) {
  auto& children = self->state.children;
  auto child = self->spawn<caf::detached + caf::monitored>(
      reader, children[index].name, self->state.settings.store, children[index].probe);
  children.started(index, child);
  children[index].extra.in_flight = 0;
}

void on_child_down(sup_ptr self, size_t index, const caf::error& reason) {
  auto& st = self->state;
  // Unlimited restarts: a database outage must not take the process down.
  auto delay = *st.children.stopped(index);
  spdlog::warn("{} stopped ({}), restarting in {} ms", st.children[index].name,
               self->system().render(reason), delay.count());
  self->delayed_send(self, delay, restart_atom_v, uint64_t{index}, st.children[index].generation);
}

std::optional<size_t> least_busy(sup_ptr self) {
  auto& st = self->state;
  return lpa::least_busy(st.children, 0, st.children.size(), st.turn);
}

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Maps what went wrong between supervisor and reader to what the caller may act on.
caf::error caller_error(sup_ptr self, size_t index, uint64_t generation, caf::error err) {
  if (err == caf::sec::request_receiver_down) {
    self->state.children.bounced(index, generation);
    return caf::make_error(errc::unavailable);
  }
  if (err.category() == caf::atom("hist_api") || err == caf::sec::request_timeout)
    return err;
  return caf::make_error(errc::internal);
}

// Forwards a read to the least busy reader and answers the caller from its reply, awaited
// until the call's deadline.
template <class... Ts>
caf::result<event_page> route(sup_ptr self, const call_meta& meta, Ts... xs) {
  auto scope = self->state.probe->enter(self);
  auto index = least_busy(self);
  if (!index)
    return caf::make_error(errc::unavailable);
  auto remaining = meta.deadline_unix_ms - unix_ms_now();
  if (remaining <= 0)
    return caf::make_error(caf::sec::request_timeout);
  auto& child = self->state.children[*index];
  auto generation = child.generation;
  ++child.extra.in_flight;
  auto answered = [=] {
    auto& c = self->state.children[*index];
    if (c.generation == generation)
      --c.extra.in_flight;
  };
  auto rp = self->make_response_promise<event_page>();
  self->request(caf::actor_cast<reader_actor>(child.handle), milliseconds{remaining}, xs...)
      .then(
          [=](event_page& page) mutable {
            answered();
            rp.deliver(std::move(page));
          },
          [=](caf::error& err) mutable {
            answered();
            rp.deliver(caller_error(self, *index, generation, std::move(err)));
          });
  return rp;
}

// Ready means a reader answers a ping.
void check_health(sup_ptr self) {
  auto index = least_busy(self);
  if (!index) {
    self->state.health->db_answering = false;
    return;
  }
  self->request(caf::actor_cast<reader_actor>(self->state.children[*index].handle),
                self->state.settings.health_interval, ping_atom_v)
      .then([=](bool ok) { self->state.health->db_answering = ok; },
            [=](caf::error&) { self->state.health->db_answering = false; });
}

} // namespace

supervisor_state::~supervisor_state() {
  children.stop_all();
}

supervisor_actor::behavior_type reader_supervisor(sup_ptr self, reader_pool_settings settings,
                                                  std::shared_ptr<reader_health> health) {
  auto& st = self->state;
  st.settings = settings;
  st.health = std::move(health);
  st.probe = st.settings.probes->make("history-reader-supervisor");
  for (int i = 1; i <= settings.readers; ++i) {
    auto name = "history-reader-" + std::to_string(i);
    st.children.add(
        name,
        restart_policy{settings.backoff_min, settings.backoff_max, 0, std::chrono::minutes{1}},
        st.settings.probes->make(name));
  }
  self->set_down_handler([=](caf::down_msg& dm) {
    if (auto index = self->state.children.find(dm.source))
      on_child_down(self, *index, dm.reason);
  });
  for (size_t i = 0; i < st.children.size(); ++i)
    start(self, i);
  self->send(self, health_atom_v);
  return {
      [=](list_events_atom a, const call_meta& meta, const db::history_page_query& query)
          -> caf::result<event_page> { return route(self, meta, a, meta, query); },
      [=](event_at_atom a, const call_meta& meta, uint64_t package_id, int64_t at_us)
          -> caf::result<event_page> { return route(self, meta, a, meta, package_id, at_us); },
      [=](ping_atom) -> caf::result<bool> { return self->state.health->db_answering.load(); },
      [=](caf::get_atom) { return self->state.children.running().second; },
      [=](restart_atom, uint64_t index, uint64_t generation) {
        if (self->state.children.restart_due(index, generation))
          start(self, index);
      },
      [=](health_atom) {
        check_health(self);
        self->delayed_send(self, self->state.settings.health_interval, health_atom_v);
      },
  };
}

} // namespace lpa::history_api
