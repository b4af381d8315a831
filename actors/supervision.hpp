#pragma once

// The one supervision helper every supervisor uses. CAF 0.17 has no supervisor of its own: a
// supervisor spawns its children monitored (never linked: exit_reason::kill travels through
// links and cannot be trapped), keeps them in a child_table, and on a down message asks the table
// when to restart the child, then sends itself a restart timer that names the child's index and
// generation (a timer of an older incarnation is ignored).

#include "actors/actor_probe.hpp"
#include "actors/restart_policy.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <vector>

namespace lpa {

// One supervised child. `Extra` is what a supervisor keeps per child besides that.
template <class Extra>
struct supervised_child {
  std::string name;        // shows in logs and in the `actor` label of the inspection metrics
  caf::actor handle;       // null while it is down (or known to be going down)
  caf::actor_addr addr;    // of the current incarnation, until its down message came
  uint64_t generation = 0; // incarnations started so far
  restart_policy::time_point started;
  restart_policy backoff; // per child: exponential, reset after a stable run
  actor_probe_ptr probe;  // survives restarts, so its counters keep counting
  Extra extra;

  bool up() const { return handle != nullptr; }
};

struct no_extra {};

// What a supervisor that routes requests keeps per child: the requests sent to its current
// incarnation and not answered yet.
struct in_flight_load {
  size_t in_flight = 0;
};

// Stages that block on PostgreSQL or librdkafka run detached in production; unit tests spawn
// them scheduled, on CAF's deterministic test coordinator.
enum class spawn_mode { detached, scheduled };

template <class F, class... Ts>
auto spawn_in(caf::actor_system& sys, spawn_mode mode, F fun, Ts&&... xs) {
  if (mode == spawn_mode::detached)
    return sys.spawn<caf::detached>(fun, std::forward<Ts>(xs)...);
  return sys.spawn(fun, std::forward<Ts>(xs)...);
}

template <class Extra = no_extra>
class child_table {
public:
  using child = supervised_child<Extra>;

  // `intensity`: at most that many restarts of all children within its window, else escalate;
  // nullopt: restart without limit.
  explicit child_table(std::optional<restart_policy> intensity = std::nullopt)
      : intensity_(std::move(intensity)) {}

  size_t add(std::string name, restart_policy backoff, actor_probe_ptr probe, Extra extra = {}) {
    children_.push_back(child{
        std::move(name), {}, {}, 0, {}, std::move(backoff), std::move(probe), std::move(extra)});
    return children_.size() - 1;
  }

  // Records a new incarnation; the supervisor has spawned it monitored.
  template <class Handle>
  void started(size_t index, const Handle& handle) {
    auto& c = children_[index];
    c.handle = caf::actor_cast<caf::actor>(handle);
    c.addr = c.handle.address();
    c.started = restart_policy::clock::now();
    ++c.generation;
  }

  // The index of the child whose current incarnation `source` is.
  std::optional<size_t> find(const caf::actor_addr& source) const {
    for (size_t i = 0; i < children_.size(); ++i)
      if (children_[i].addr && children_[i].addr == source)
        return i;
    return std::nullopt;
  }

  // The child went down: forgets the incarnation and returns how long to wait before starting
  // the next, or nullopt when the intensity limit says to give up (the supervisor escalates).
  std::optional<milliseconds> stopped(size_t index) {
    auto& c = children_[index];
    c.handle = nullptr;
    c.addr = nullptr;
    auto now = restart_policy::clock::now();
    if (intensity_ && !intensity_->on_failure(c.started, now))
      return std::nullopt;
    if (c.probe)
      c.probe->restarted();
    return c.backoff.on_failure(c.started, now);
  }

  // A restart timer is due when the child is still down in the generation it names.
  bool restart_due(size_t index, uint64_t generation) const {
    const auto& c = children_[index];
    return !c.addr && c.generation == generation;
  }

  // Monitors the new incarnation `handle` of child `index` and records it.
  template <class Self>
  void start(Self* self, size_t index, const caf::actor& handle) {
    self->monitor(handle);
    started(index, handle);
  }

  // A request to the child came back request_receiver_down: the bounce can overtake the down
  // message, so when it came from the current incarnation, stop routing to it now.
  void bounced(size_t index, uint64_t generation) {
    auto& c = children_[index];
    if (c.generation == generation)
      c.handle = nullptr;
  }

  // The children running now: their names and handles, in table order (answers the
  // supervisors' get_atom, for inspection and fault injection).
  std::pair<std::vector<std::string>, std::vector<caf::actor>> running() const {
    std::pair<std::vector<std::string>, std::vector<caf::actor>> out;
    for (const auto& c : children_)
      if (c.up()) {
        out.first.push_back(c.name);
        out.second.push_back(c.handle);
      }
    return out;
  }

  // Sends every live child `reason` (the supervisor's own end takes its children along).
  void stop_all(caf::exit_reason reason = caf::exit_reason::user_shutdown) {
    for (auto& c : children_)
      if (c.handle)
        caf::anon_send_exit(c.handle, reason);
  }

  child& operator[](size_t index) { return children_[index]; }
  const child& operator[](size_t index) const { return children_[index]; }
  size_t size() const { return children_.size(); }
  auto begin() { return children_.begin(); }
  auto end() { return children_.end(); }
  auto begin() const { return children_.begin(); }
  auto end() const { return children_.end(); }

private:
  std::vector<child> children_;
  std::optional<restart_policy> intensity_;
};

// For a supervisor whose state holds its child_table as `stages` and a `stopping` flag: starts
// every child (start(self, index)), hands the handles out (rewire(self)), and passes each child's
// down message to on_down(self, index, reason).
template <class Self, class Start, class Rewire, class OnDown>
void start_children(Self* self, Start start, Rewire rewire, OnDown on_down) {
  for (size_t i = 0; i < self->state.stages.size(); ++i)
    start(self, i);
  rewire(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (auto index = self->state.stages.find(dm.source))
      on_down(self, *index, dm.reason);
  });
}

// The restart timer of a child fired: starts it again and hands the handles out, unless the
// supervisor is stopping or the timer belongs to an older incarnation.
template <class Self, class Start, class Rewire>
void restart_child(Self* self, uint64_t index, uint64_t generation, Start start, Rewire rewire) {
  if (self->state.stopping || !self->state.stages.restart_due(index, generation))
    return;
  start(self, index);
  rewire(self);
}

// A child failed more often than the intensity limit allows: the supervisor ends with the
// child's error, so the process exits non-zero and its orchestrator restarts it.
template <class Self>
void give_up(Self* self, const std::string& child, const caf::error& reason, int restart_max,
             milliseconds restart_window) {
  spdlog::critical("{} failed ({}); more than {} restarts within {} ms: giving up so the "
                   "orchestrator restarts the process",
                   child, self->system().render(reason), restart_max, restart_window.count());
  self->quit(reason ? reason : caf::make_error(caf::sec::runtime_error));
}

// Of `count` children from `first`, the one that is up with the fewest requests in flight (so a
// request stuck on a lock holds up no other); ties take turns. nullopt if none is up.
inline std::optional<size_t> least_busy(const child_table<in_flight_load>& children, size_t first,
                                        size_t count, size_t& turn) {
  std::optional<size_t> best;
  for (size_t i = 0; i < count; ++i) {
    auto index = first + (turn + i) % count;
    if (children[index].up()
        && (!best || children[index].extra.in_flight < children[*best].extra.in_flight))
      best = index;
  }
  ++turn;
  return best;
}

} // namespace lpa
