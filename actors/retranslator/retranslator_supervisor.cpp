#include "actors/retranslator/retranslator_supervisor.hpp"

#include "actors/retranslator/cleaner_actor.hpp"
#include "actors/retranslator/consumer_actor.hpp"
#include "actors/retranslator/listener_actor.hpp"
#include "actors/retranslator/producer_actor.hpp"
#include "actors/retranslator/sender_actor.hpp"
#include "actors/retranslator/slot_keeper_actor.hpp"
#include "actors/supervision.hpp"

#include <spdlog/spdlog.h>

#include <climits>

namespace lpa {

namespace {

enum class stage_kind { cleaner, sender, producer, consumer, slot_keeper, listener };

// What the supervisor keeps per stage besides supervision.
struct stage_info {
  stage_kind kind = stage_kind::cleaner;
  std::shared_ptr<std::atomic<int64_t>> in_flight; // consumers: events they hold
};

struct supervisor_state {
  ~supervisor_state() { stages.stop_all(); } // stages end with their supervisor, however it ends

  retranslator_plan plan;
  child_table<stage_info> stages;
  bool stopping = false;
  static inline const char* name = "retranslator-supervisor";
};

using sup_ptr = retranslator_supervisor_actor::stateful_pointer<supervisor_state>;

db::store_settings store_of(const settings& cfg) {
  return {cfg.db.dsn, cfg.db.connect_timeout, cfg.db.statement_timeout};
}

// Handles of one kind in stage order; a stage that is down has a null handle, so positions
// (consumer i reads the slots with slot % consumers == i) stay put while it restarts.
template <class Handle>
std::vector<Handle> handles(sup_ptr self, stage_kind kind) {
  std::vector<Handle> out;
  for (const auto& stage : self->state.stages)
    if (stage.extra.kind == kind)
      out.push_back(caf::actor_cast<Handle>(stage.handle));
  return out;
}

template <class Handle>
Handle handle(sup_ptr self, stage_kind kind) {
  auto all = handles<Handle>(self, kind);
  return all.empty() ? Handle{} : all.front();
}

std::shared_ptr<db::outbox_session> session(const settings& cfg, const metrics_ptr& metrics) {
  return std::make_shared<db::outbox_session>(
      store_of(cfg), std::function<void(db::outbox_store&)>{},
      [metrics](const std::exception&) { metrics->db_errors.Increment(); });
}

caf::actor spawn_stage(sup_ptr self, supervised_child<stage_info>& stage) {
  const auto& plan = self->state.plan;
  const auto& cfg = plan.cfg;
  const auto& rt = cfg.retranslator;
  auto& sys = self->system();
  switch (stage.extra.kind) {
  case stage_kind::cleaner: {
    auto db = session(cfg, plan.metrics);
    cleaner_settings s{static_cast<size_t>(rt.cleaner_batch), rt.cleaner_interval,
                       rt.send_backoff_min, rt.send_backoff_max, 5};
    auto relay = plan.relay;
    delete_fn apply = [db, relay](const std::vector<db::delivered_event>& events) {
      return db->run([&](db::outbox_store& st) { return st.delete_delivered(relay, events); });
    };
    return caf::actor_cast<caf::actor>(
        spawn_cleaner(sys, spawn_mode::detached, s, apply, plan.metrics, stage.probe));
  }
  case stage_kind::sender: {
    // librdkafka's queue holds at least what the window lets into it.
    auto queue = std::min<size_t>(std::max<size_t>(size_t(rt.window) * 2, 100000), INT_MAX);
    sender_settings s{cfg.kafka.brokers, cfg.kafka.topic, cfg.kafka.partitions, queue};
    return caf::actor_cast<caf::actor>(
        spawn_sender(sys, s, plan.metrics, stage.probe, plan.tracer));
  }
  case stage_kind::producer:
    return caf::actor_cast<caf::actor>(spawn_producer(sys, stage.probe));
  case stage_kind::consumer: {
    auto db = session(cfg, plan.metrics);
    consumer_settings s;
    s.name = stage.name;
    s.relay = plan.relay;
    s.credit = static_cast<size_t>(rt.window / rt.consumers);
    s.per_slot = static_cast<size_t>(rt.batch_size);
    s.poll_interval = rt.poll_interval;
    s.read_interval = rt.read_interval;
    s.backoff_min = rt.send_backoff_min;
    s.backoff_max = rt.send_backoff_max;
    read_fn read = [db](const std::vector<db::slot_cursor>& slots,
                        const std::vector<uint64_t>& held, size_t per_slot, size_t limit) {
      return db->run([&](db::outbox_store& st) { return st.read(slots, held, per_slot, limit); });
    };
    return caf::actor_cast<caf::actor>(
        spawn_consumer(sys, spawn_mode::detached,
                       consumer_deps{s, read, plan.metrics, stage.probe, stage.extra.in_flight}));
  }
  case stage_kind::slot_keeper: {
    auto db = session(cfg, plan.metrics);
    slot_keeper_settings s{plan.relay, rt.lease, std::min(rt.lease / 3, milliseconds{1000}),
                           rt.lease};
    slot_leases leases{
        [db](const std::string& relay, milliseconds lease) {
          return db->run([&](db::outbox_store& st) { return st.heartbeat(relay, lease); });
        },
        [db](const std::string& relay, size_t count, milliseconds lease) {
          return db->run([&](db::outbox_store& st) { return st.acquire(relay, count, lease); });
        },
        [db](const std::string& relay, const std::vector<db::slot_lease>& slots) {
          return db->run([&](db::outbox_store& st) { return st.release(relay, slots); });
        },
        [db](const std::string& relay) { db->run([&](db::outbox_store& st) { st.leave(relay); }); },
    };
    return caf::actor_cast<caf::actor>(
        spawn_slot_keeper(sys, s, leases, plan.metrics, stage.probe));
  }
  case stage_kind::listener:
    return caf::actor_cast<caf::actor>(
        spawn_listener(sys, store_of(cfg), rt.poll_interval, plan.metrics, stage.probe));
  }
  return {};
}

// Hands every stage the current handles of the stages it talks to. Consumer i always sends
// through producer i % producers: its one ordered path to the sender.
void rewire(sup_ptr self) {
  auto sender = handle<sender_actor>(self, stage_kind::sender);
  auto producers = handles<producer_actor>(self, stage_kind::producer);
  auto cleaner = handle<cleaner_actor>(self, stage_kind::cleaner);
  auto consumers = handles<consumer_actor>(self, stage_kind::consumer);
  for (auto& p : producers)
    if (p)
      self->send(p, wire_atom_v, sender);
  for (size_t i = 0; i < consumers.size(); ++i)
    if (consumers[i])
      self->send(consumers[i], wire_atom_v, producers[i % producers.size()], cleaner);
  if (auto keeper = handle<slot_keeper_actor>(self, stage_kind::slot_keeper))
    self->send(keeper, wire_atom_v, consumers);
  if (auto listener = handle<listener_actor>(self, stage_kind::listener))
    self->send(listener, wire_atom_v, consumers);
}

void start(sup_ptr self, size_t index) {
  auto& stages = self->state.stages;
  stages.start(self, index, spawn_stage(self, stages[index]));
}

void on_stage_down(sup_ptr self, size_t index, const caf::error& reason) {
  auto& st = self->state;
  auto delay = st.stages.stopped(index);
  auto& stage = st.stages[index];
  if (stage.extra.kind == stage_kind::consumer) {
    auto held = stage.extra.in_flight->exchange(0);
    st.plan.metrics->events_in_flight.Decrement(static_cast<double>(held));
  }
  if (st.stopping)
    return;
  if (!delay) {
    give_up(self, stage.name, reason, st.plan.cfg.retranslator.restart_max,
            st.plan.cfg.retranslator.restart_window);
    return;
  }
  spdlog::warn("{} stopped ({}), restarting in {} ms", stage.name, self->system().render(reason),
               delay->count());
  // What a dead producer or sender held will never be answered: the consumers send it again.
  if (stage.extra.kind == stage_kind::sender || stage.extra.kind == stage_kind::producer)
    for (auto& c : handles<consumer_actor>(self, stage_kind::consumer))
      if (c)
        self->send(c, abort_atom_v);
  rewire(self);
  self->delayed_send(self, *delay, restage_atom_v, uint64_t{index}, stage.generation);
}

// Drain: consumers stop reading and report when nothing is in flight (or the deadline passes);
// then the slot keeper releases every slot, and every stage stops.
void drain(sup_ptr self, caf::typed_response_promise<bool> done) {
  auto& st = self->state;
  st.stopping = true;
  auto stop_all = [=]() mutable {
    self->state.stages.stop_all();
    done.deliver(true);
    self->quit();
  };
  auto leave = [=]() mutable {
    auto keeper = handle<slot_keeper_actor>(self, stage_kind::slot_keeper);
    if (!keeper) {
      stop_all();
      return;
    }
    self->request(keeper, std::chrono::seconds{10}, drain_atom_v)
        .then([=](bool) mutable { stop_all(); }, [=](caf::error&) mutable { stop_all(); });
  };
  std::vector<consumer_actor> consumers;
  for (auto& c : handles<consumer_actor>(self, stage_kind::consumer))
    if (c)
      consumers.push_back(c);
  if (consumers.empty()) {
    leave();
    return;
  }
  auto pending = std::make_shared<size_t>(consumers.size());
  auto one_done = [=]() mutable {
    if (--*pending == 0)
      leave();
  };
  for (auto& c : consumers)
    self->request(c, st.plan.cfg.retranslator.shutdown_deadline, drain_atom_v)
        .then([=](bool) mutable { one_done(); },
              [=](caf::error&) mutable {
                spdlog::warn("shutdown deadline passed with events in flight: they stay in the "
                             "outbox and are sent by whoever holds their slots next");
                one_done();
              });
}

retranslator_supervisor_actor::behavior_type retranslator_supervisor(sup_ptr self,
                                                                     retranslator_plan plan) {
  auto& st = self->state;
  st.plan = std::move(plan);
  const auto& rt = st.plan.cfg.retranslator;
  st.stages = child_table<stage_info>{restart_policy{rt.restart_backoff_min, rt.restart_backoff_max,
                                                     static_cast<size_t>(rt.restart_max),
                                                     rt.restart_window}};
  auto add = [&](std::string name, stage_kind kind) {
    auto probe = st.plan.probes->make(name);
    st.stages.add(
        std::move(name),
        restart_policy{rt.restart_backoff_min, rt.restart_backoff_max, 0, rt.restart_window}, probe,
        stage_info{kind, std::make_shared<std::atomic<int64_t>>(0)});
  };
  add("cleaner", stage_kind::cleaner);
  add("sender", stage_kind::sender);
  for (int i = 1; i <= rt.producers; ++i)
    add("producer-" + std::to_string(i), stage_kind::producer);
  for (int i = 1; i <= rt.consumers; ++i)
    add("consumer-" + std::to_string(i), stage_kind::consumer);
  add("slot-keeper", stage_kind::slot_keeper);
  add("listener", stage_kind::listener);
  start_children(self, start, rewire, on_stage_down);
  return {
      [=](restage_atom, uint64_t index, uint64_t generation) {
        restart_child(self, index, generation, start, rewire);
      },
      [=](drain_atom) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        drain(self, promise);
        return promise;
      },
      [=](caf::get_atom) -> caf::result<std::vector<std::string>, std::vector<caf::actor>> {
        auto [names, handles] = self->state.stages.running();
        return {names, handles};
      },
  };
}

} // namespace

retranslator_supervisor_actor spawn_retranslator_supervisor(caf::actor_system& sys,
                                                            retranslator_plan plan) {
  return sys.spawn(retranslator_supervisor, std::move(plan));
}

} // namespace lpa
