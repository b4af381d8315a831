#include "actors/repo/repo_supervisor.hpp"

#include "actors/repo/repo_actor.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

namespace lpa {

namespace {

using sup_ptr = repo_supervisor_actor::stateful_pointer<repo_supervisor_state>;

size_t writers(const repo_supervisor_state& st) {
  return static_cast<size_t>(st.settings.writers);
}

void start(sup_ptr self, size_t index) {
  auto& children = self->state.children;
  auto child = self->spawn<caf::detached + caf::monitored>(
      repo_actor_impl, children[index].name, self->state.settings.actor, children[index].probe);
  children.started(index, child);
  children[index].extra.in_flight = 0;
}

void on_child_down(sup_ptr self, size_t index, const caf::error& reason) {
  auto& st = self->state;
  if (index < writers(st)) // not ready until a health ping gets through again
    st.health->db_answering = false;
  st.health->restarts++;
  // Unlimited restarts: a database outage must not take the API process down.
  auto delay = *st.children.stopped(index);
  spdlog::warn("{} stopped ({}), restarting in {} ms", st.children[index].name,
               self->system().render(reason), delay.count());
  self->delayed_send(self, delay, restart_atom_v, uint64_t{index}, st.children[index].generation);
}

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Maps what went wrong between supervisor and RepoActor to what the caller may act on.
caf::error caller_error(sup_ptr self, size_t index, uint64_t generation, caf::error err) {
  if (err == caf::sec::request_receiver_down) {
    self->state.children.bounced(index, generation);
    return caf::make_error(repo_errc::unavailable);
  }
  if (err.category() == caf::atom("repo") || err == caf::sec::request_timeout)
    return err;
  return caf::make_error(repo_errc::internal);
}

// Requests sent to the `count` children from `first` and not answered yet.
size_t waiting(const child_table<in_flight_load>& children, size_t first, size_t count) {
  size_t sum = 0;
  for (size_t i = first; i < first + count; ++i)
    sum += children[i].extra.in_flight;
  return sum;
}

// A kind of RepoActor: the children from `first` on, and how many requests may wait for them.
struct pool_kind {
  size_t first;
  size_t count;
  size_t queue_limit;
};

pool_kind writer_kind(const repo_supervisor_state& st) {
  return {0, writers(st), st.settings.write_queue};
}

pool_kind reader_kind(const repo_supervisor_state& st) {
  return {writers(st), st.children.size() - writers(st), st.settings.read_queue};
}

// Forwards a request to the RepoActor in `index` of `kind`, stamped with the moment it does, and
// answers the caller from its reply, awaited until `grace` past the request's deadline.
template <class T, class Atom, class Arg>
caf::result<T> route(sup_ptr self, pool_kind kind, size_t index, milliseconds grace, Atom atom,
                     request_meta meta, Arg arg) {
  auto scope = self->state.probe->enter(self);
  auto& child = self->state.children[index];
  if (!child.up())
    return caf::make_error(repo_errc::unavailable);
  auto remaining = meta.deadline_unix_ms - unix_ms_now();
  if (remaining <= 0)
    return caf::make_error(caf::sec::request_timeout);
  if (waiting(self->state.children, kind.first, kind.count) >= kind.queue_limit)
    return caf::make_error(repo_errc::overloaded);
  auto rp = self->make_response_promise<T>();
  auto generation = child.generation;
  ++child.extra.in_flight;
  auto answered = [=] {
    auto& c = self->state.children[index];
    if (c.generation == generation)
      --c.extra.in_flight;
  };
  meta.enqueued_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  self->request(caf::actor_cast<repo_actor>(child.handle), milliseconds{remaining} + grace, atom,
                std::move(meta), std::move(arg))
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

// With no writer up, the first one answers UNAVAILABLE.
size_t pick_writer(sup_ptr self) {
  auto& st = self->state;
  return least_busy(st.children, 0, writers(st), st.next_writer).value_or(0);
}

// Writes of one package, and creates with one idempotency key, go to the same writer while it is
// up: they never wait for each other's row locks across transactions (so group commits cannot
// deadlock), and they run in the order they came.
size_t pick_writer(sup_ptr self, const db::write_command& cmd) {
  auto& st = self->state;
  uint64_t affinity = 0;
  if (!cmd.idempotency_key.empty())
    affinity = std::hash<std::string>{}(cmd.idempotency_key);
  else if (cmd.kind != db::write_kind::create)
    affinity = cmd.package_id;
  else
    return pick_writer(self);
  auto index = affinity % writers(st);
  return st.children[index].up() ? index : pick_writer(self);
}

// With no reader up, a writer serves reads.
size_t pick_reader(sup_ptr self) {
  auto& st = self->state;
  auto readers = st.children.size() - writers(st);
  if (auto index = least_busy(st.children, writers(st), readers, st.next_reader))
    return *index;
  return pick_writer(self);
}

// Ready means a writer answers.
void check_health(sup_ptr self) {
  auto& st = self->state;
  auto& writer = st.children[pick_writer(self)];
  if (!writer.up()) {
    st.health->db_answering = false;
    return;
  }
  self->request(caf::actor_cast<repo_actor>(writer.handle), st.settings.health_interval,
                ping_atom_v)
      .then([=](bool ok) { self->state.health->db_answering = ok; },
            [=](caf::error&) { self->state.health->db_answering = false; });
}

} // namespace

repo_supervisor_state::~repo_supervisor_state() {
  children.stop_all();
}

repo_supervisor_actor::behavior_type repo_supervisor(sup_ptr self, repo_pool_settings settings,
                                                     std::shared_ptr<repo_health> health) {
  auto& st = self->state;
  st.settings = settings;
  st.health = std::move(health);
  st.probe = st.settings.probes->make("repo-supervisor");
  auto add = [&](const std::string& name) {
    st.children.add(
        name,
        restart_policy{settings.backoff_min, settings.backoff_max, 0, std::chrono::minutes{1}},
        st.settings.probes->make(name));
  };
  for (int i = 1; i <= settings.writers; ++i)
    add("repo-writer-" + std::to_string(i));
  for (int i = 1; i <= settings.readers; ++i)
    add("repo-reader-" + std::to_string(i));
  self->set_down_handler([=](caf::down_msg& dm) {
    if (auto index = self->state.children.find(dm.source))
      on_child_down(self, *index, dm.reason);
  });
  for (size_t i = 0; i < st.children.size(); ++i)
    start(self, i);
  self->send(self, health_atom_v);
  self->delayed_send(self, st.settings.key_expiry_interval, expire_atom_v);
  return {
      [=](write_atom a, const request_meta& meta,
          const db::write_command& cmd) -> caf::result<uint64_t> {
        auto& st = self->state;
        return route<uint64_t>(self, writer_kind(st), pick_writer(self, cmd),
                               st.settings.write_answer_grace(), a, meta, cmd);
      },
      [=](describe_atom a, const request_meta& meta, uint64_t id) -> caf::result<db::package_row> {
        auto& st = self->state;
        return route<db::package_row>(self, reader_kind(st), pick_reader(self), milliseconds{0}, a,
                                      meta, id);
      },
      [=](list_atom a, const request_meta& meta,
          const db::list_query& query) -> caf::result<package_page> {
        auto& st = self->state;
        return route<package_page>(self, reader_kind(st), pick_reader(self), milliseconds{0}, a,
                                   meta, query);
      },
      [=](ping_atom) -> caf::result<bool> { return self->state.health->db_answering.load(); },
      [=](caf::get_atom) { return self->state.children.running().second; },
      [=](restart_atom, uint64_t index, uint64_t generation) {
        if (self->state.children.restart_due(index, generation))
          start(self, index);
      },
      [=](expire_atom a) {
        auto& st = self->state;
        auto& writer = st.children[0];
        if (writer.up())
          self->send(caf::actor_cast<repo_actor>(writer.handle), a);
        self->delayed_send(self, st.settings.key_expiry_interval, a);
      },
      [=](health_atom) {
        check_health(self);
        self->delayed_send(self, self->state.settings.health_interval, health_atom_v);
      },
  };
}

} // namespace lpa
