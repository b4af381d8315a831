#include "actors/repo_supervisor.hpp"

#include "actors/repo_actor.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

namespace lpa {

namespace {

using sup_ptr = repo_supervisor_actor::stateful_pointer<repo_supervisor_state>;

size_t writers(const repo_supervisor_state& st) {
  return static_cast<size_t>(st.settings.writers);
}

void start_slot(sup_ptr self, size_t index) {
  auto& slot = self->state.slots[index];
  // Monitored, not linked: a link would carry a `kill` of the child to the supervisor, and
  // exit_reason::kill cannot be trapped.
  slot.handle = self->spawn<caf::detached + caf::monitored>(repo_actor_impl, slot.name,
                                                            self->state.settings.store);
  slot.addr = slot.handle.address();
  slot.up = true;
  slot.in_flight = 0;
  slot.started = std::chrono::steady_clock::now();
  ++slot.generation;
}

void on_child_exit(sup_ptr self, size_t index, const caf::error& reason) {
  auto& slot = self->state.slots[index];
  slot.up = false;
  slot.handle = nullptr;
  slot.addr = nullptr;
  if (index < writers(self->state)) // not ready until a health ping gets through again
    self->state.health->db_answering = false;
  self->state.health->restarts++;
  // Unlimited restarts: a database outage must not take the API process down.
  auto delay = *slot.policy.on_failure(slot.started, std::chrono::steady_clock::now());
  spdlog::warn("{} stopped ({}), restarting in {} ms", slot.name, self->system().render(reason),
               delay.count());
  self->delayed_send(self, delay, restart_atom_v, uint64_t{index}, slot.generation);
}

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Maps what went wrong between supervisor and RepoActor to what the caller may act on.
caf::error caller_error(sup_ptr self, size_t index, uint64_t generation, caf::error err) {
  if (err == caf::sec::request_receiver_down) {
    // The bounce can overtake the child's exit message: stop routing to that incarnation now.
    auto& slot = self->state.slots[index];
    if (slot.generation == generation)
      slot.up = false;
    return caf::make_error(repo_errc::unavailable);
  }
  if (err.category() == caf::atom("repo") || err == caf::sec::request_timeout)
    return err;
  return caf::make_error(repo_errc::internal);
}

// Forwards a request to the RepoActor in `index` and answers the caller from its reply.
template <class T, class... Ts>
caf::result<T> route(sup_ptr self, size_t index, const request_meta& meta, Ts... xs) {
  auto& slot = self->state.slots[index];
  if (!slot.up)
    return caf::make_error(repo_errc::unavailable);
  auto remaining = meta.deadline_unix_ms - unix_ms_now();
  if (remaining <= 0)
    return caf::make_error(caf::sec::request_timeout);
  auto rp = self->make_response_promise<T>();
  auto generation = slot.generation;
  ++slot.in_flight;
  auto answered = [=] {
    auto& s = self->state.slots[index];
    if (s.generation == generation)
      --s.in_flight;
  };
  self->request(slot.handle, std::chrono::milliseconds{remaining}, std::move(xs)...)
      .then(
          [=](T& value) mutable {
            answered();
            rp.deliver(std::move(value));
          },
          [=](caf::error& err) mutable {
            answered();
            rp.deliver(caller_error(self, index, generation, std::move(err)));
          });
  return rp;
}

// Of `count` slots from `first`, the one that is up with the fewest requests waiting (so a
// request stuck on a lock holds up no other); ties take turns. nullopt if none is up.
std::optional<size_t> least_busy(const std::vector<repo_slot>& slots, size_t first, size_t count,
                                 size_t& turn) {
  std::optional<size_t> best;
  for (size_t i = 0; i < count; ++i) {
    auto index = first + (turn + i) % count;
    if (slots[index].up && (!best || slots[index].in_flight < slots[*best].in_flight))
      best = index;
  }
  ++turn;
  return best;
}

// With no writer up, the first one answers UNAVAILABLE.
size_t pick_writer(sup_ptr self) {
  auto& st = self->state;
  return least_busy(st.slots, 0, writers(st), st.next_writer).value_or(0);
}

// With no reader up, a writer serves reads.
size_t pick_reader(sup_ptr self) {
  auto& st = self->state;
  auto readers = st.slots.size() - writers(st);
  if (auto index = least_busy(st.slots, writers(st), readers, st.next_reader))
    return *index;
  return pick_writer(self);
}

// Ready means a writer answers.
void check_health(sup_ptr self) {
  auto& st = self->state;
  auto& writer = st.slots[pick_writer(self)];
  if (!writer.up) {
    st.health->db_answering = false;
    return;
  }
  self->request(writer.handle, st.settings.health_interval, ping_atom_v)
      .then([=](bool ok) { self->state.health->db_answering = ok; },
            [=](caf::error&) { self->state.health->db_answering = false; });
}

} // namespace

repo_supervisor_state::~repo_supervisor_state() {
  for (auto& slot : slots)
    if (slot.handle)
      caf::anon_send_exit(slot.handle, caf::exit_reason::user_shutdown);
}

repo_supervisor_actor::behavior_type repo_supervisor(sup_ptr self, repo_pool_settings settings,
                                                     std::shared_ptr<repo_health> health) {
  auto& st = self->state;
  st.settings = settings;
  st.health = std::move(health);
  auto make_slot = [&](std::string name) {
    return repo_slot{
        std::move(name),
        {},
        {},
        false,
        0,
        {},
        restart_policy{settings.backoff_min, settings.backoff_max, 0, std::chrono::minutes{1}}};
  };
  for (int i = 1; i <= settings.writers; ++i)
    st.slots.push_back(make_slot("repo-writer-" + std::to_string(i)));
  for (int i = 1; i <= settings.readers; ++i)
    st.slots.push_back(make_slot("repo-reader-" + std::to_string(i)));
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& slots = self->state.slots;
    for (size_t i = 0; i < slots.size(); ++i)
      if (slots[i].addr && dm.source == slots[i].addr) {
        on_child_exit(self, i, dm.reason);
        return;
      }
  });
  for (size_t i = 0; i < st.slots.size(); ++i)
    start_slot(self, i);
  self->send(self, health_atom_v);
  return {
      [=](write_atom a, const request_meta& meta,
          const db::write_command& cmd) -> caf::result<uint64_t> {
        return route<uint64_t>(self, pick_writer(self), meta, a, meta, cmd);
      },
      [=](describe_atom a, const request_meta& meta, uint64_t id) -> caf::result<db::package_row> {
        return route<db::package_row>(self, pick_reader(self), meta, a, meta, id);
      },
      [=](list_atom a, const request_meta& meta,
          const db::list_query& query) -> caf::result<package_page> {
        return route<package_page>(self, pick_reader(self), meta, a, meta, query);
      },
      [=](ping_atom) -> caf::result<bool> { return self->state.health->db_answering.load(); },
      [=](caf::get_atom) {
        std::vector<caf::actor> running;
        for (auto& slot : self->state.slots)
          if (slot.up)
            running.push_back(caf::actor_cast<caf::actor>(slot.handle));
        return running;
      },
      [=](restart_atom, uint64_t index, uint64_t generation) {
        auto& slot = self->state.slots[index];
        if (!slot.up && slot.generation == generation)
          start_slot(self, index);
      },
      [=](health_atom) {
        check_health(self);
        self->delayed_send(self, self->state.settings.health_interval, health_atom_v);
      },
  };
}

} // namespace lpa
