#include "actors/retranslator/retranslator_supervisor.hpp"

#include <spdlog/spdlog.h>

namespace lpa {

namespace {

using sup_ptr = retranslator_supervisor_actor::stateful_pointer<retranslator_supervisor_state>;

db::store_settings store_of(const settings& cfg) {
  return {cfg.db.dsn, cfg.db.connect_timeout, cfg.db.statement_timeout};
}

template <class Handle>
std::vector<Handle> running(sup_ptr self, stage_kind kind) {
  std::vector<Handle> out;
  for (const auto& stage : self->state.stages)
    if (stage.extra.kind == kind && stage.up())
      out.push_back(caf::actor_cast<Handle>(stage.handle));
  return out;
}

template <class Handle>
Handle running_one(sup_ptr self, stage_kind kind) {
  auto all = running<Handle>(self, kind);
  return all.empty() ? Handle{} : all.front();
}

release_fn release_on(std::shared_ptr<db::outbox_session> session) {
  return [session](const std::string& owner) {
    return session->run([&](db::outbox_store& st) { return st.release_owner(owner); });
  };
}

consumer_outbox consumer_outbox_on(const db::store_settings& store) {
  auto session = std::make_shared<db::outbox_session>(store);
  return {
      [session](const std::string& owner, size_t limit, milliseconds lease) {
        return session->run([&](db::outbox_store& st) { return st.claim(owner, limit, lease); });
      },
      [session](const std::string& owner, const std::vector<uint64_t>& ids, milliseconds lease) {
        return session->run([&](db::outbox_store& st) { return st.renew(owner, ids, lease); });
      },
      release_on(session),
  };
}

caf::actor spawn_stage(sup_ptr self, supervised_child<stage_info>& slot) {
  const auto& cfg = self->state.plan.cfg;
  const auto& rt = cfg.retranslator;
  auto metrics = self->state.plan.metrics;
  auto store = store_of(cfg);
  switch (slot.extra.kind) {
  case stage_kind::cleaner: {
    auto session = std::make_shared<db::outbox_session>(store);
    cleaner_settings s{static_cast<size_t>(rt.cleaner_batch), rt.cleaner_interval,
                       rt.send_backoff_min, rt.send_backoff_max, 5};
    clean_fn apply = [session](const std::vector<db::outbox_outcome>& outcomes) {
      return session->run([&](db::outbox_store& st) { return st.clean(outcomes); });
    };
    return caf::actor_cast<caf::actor>(self->spawn<caf::detached + caf::monitored>(
        cleaner, s, apply, release_on(session), metrics, slot.probe));
  }
  case stage_kind::sender: {
    sender_settings s{cfg.kafka.brokers,
                      cfg.kafka.topic,
                      cfg.kafka.partitions,
                      cfg.kafka.delivery_timeout,
                      rt.send_backoff_min,
                      rt.send_backoff_max,
                      static_cast<size_t>(std::max(rt.window * 2, 100000))};
    return caf::actor_cast<caf::actor>(
        self->spawn<caf::detached + caf::monitored>(sender, s, metrics, slot.probe));
  }
  case stage_kind::producer:
    return caf::actor_cast<caf::actor>(self->spawn<caf::monitored>(producer, slot.probe));
  case stage_kind::consumer: {
    slot.extra.owner
        = self->state.plan.instance + "/" + slot.name + "#" + std::to_string(slot.generation + 1);
    consumer_settings s;
    s.name = slot.name;
    s.owner = slot.extra.owner;
    s.batch = static_cast<size_t>(rt.batch_size);
    s.credit = std::max<size_t>(1, static_cast<size_t>(rt.window / rt.consumers));
    s.lease = rt.lease;
    s.poll_interval = rt.poll_interval;
    s.send_timeout = std::max(rt.lease, cfg.kafka.delivery_timeout) * 10;
    s.clean_timeout = std::max(rt.lease, milliseconds{10000});
    s.backoff_min = rt.send_backoff_min;
    s.backoff_max = rt.send_backoff_max;
    return caf::actor_cast<caf::actor>(self->spawn<caf::detached + caf::monitored>(
        consumer, s, consumer_outbox_on(store), slot.extra.in_flight, metrics, slot.probe));
  }
  case stage_kind::listener:
    return caf::actor_cast<caf::actor>(self->spawn<caf::detached + caf::monitored>(
        listener, store, rt.poll_interval, metrics, slot.probe));
  }
  return {};
}

// Hands every stage the current handles of the stages it talks to.
void rewire(sup_ptr self) {
  auto sender_handle = running_one<sender_actor>(self, stage_kind::sender);
  auto producers = running<producer_actor>(self, stage_kind::producer);
  auto cleaner_handle = running_one<cleaner_actor>(self, stage_kind::cleaner);
  auto consumers = running<consumer_actor>(self, stage_kind::consumer);
  for (auto& p : producers)
    self->send(p, wire_atom_v, sender_handle);
  for (auto& c : consumers)
    self->send(c, wire_atom_v, producers, cleaner_handle);
  for (auto& l : running<listener_actor>(self, stage_kind::listener))
    self->send(l, wire_atom_v, consumers);
}

void start(sup_ptr self, size_t index) {
  auto& stages = self->state.stages;
  stages.started(index, spawn_stage(self, stages[index]));
}

void on_stage_down(sup_ptr self, size_t index, const caf::error& reason) {
  auto& st = self->state;
  if (st.stopping) {
    st.stages.stopped(index);
    return;
  }
  auto delay = st.stages.stopped(index);
  auto& stage = st.stages[index];
  if (!delay) {
    spdlog::critical("{} failed ({}); more than {} restarts within {} ms: giving up so the "
                     "orchestrator restarts the process",
                     stage.name, self->system().render(reason),
                     st.plan.cfg.retranslator.restart_max,
                     st.plan.cfg.retranslator.restart_window.count());
    self->quit(reason ? reason : caf::make_error(caf::sec::runtime_error));
    return;
  }
  spdlog::warn("{} stopped ({}), restarting in {} ms", stage.name, self->system().render(reason),
               delay->count());
  if (stage.extra.kind == stage_kind::consumer) {
    // Release what the dead consumer held now rather than when its leases end.
    auto held = stage.extra.in_flight->exchange(0);
    st.plan.metrics->events_in_flight.Decrement(static_cast<double>(held));
    if (auto cleaner_handle = running_one<cleaner_actor>(self, stage_kind::cleaner))
      self->request(cleaner_handle, std::chrono::seconds{30}, release_atom_v, stage.extra.owner)
          .then([](uint64_t) {}, [](caf::error&) {}); // on failure the leases expire
  }
  if (stage.extra.kind == stage_kind::sender)
    for (auto& c : running<consumer_actor>(self, stage_kind::consumer))
      self->send(c, abort_atom_v);
  rewire(self);
  self->delayed_send(self, *delay, restage_atom_v, uint64_t{index}, stage.generation);
}

// Drain: consumers stop claiming and report when empty; those that do not make the deadline
// release what they hold; then every stage stops.
void drain(sup_ptr self, caf::typed_response_promise<bool> done) {
  auto& st = self->state;
  st.stopping = true;
  auto consumers = running<consumer_actor>(self, stage_kind::consumer);
  auto pending = std::make_shared<size_t>(consumers.size());
  auto stop_all = [=]() mutable {
    self->state.stages.stop_all();
    done.deliver(true);
    self->quit();
  };
  if (consumers.empty()) {
    stop_all();
    return;
  }
  for (auto& c : consumers)
    self->request(c, st.plan.cfg.retranslator.shutdown_deadline, drain_atom_v)
        .then(
            [=](bool) mutable {
              if (--*pending == 0)
                stop_all();
            },
            [=](caf::error&) mutable {
              spdlog::warn("shutdown deadline passed with events in flight: releasing them");
              self->request(c, std::chrono::seconds{10}, release_atom_v)
                  .then(
                      [=](uint64_t) mutable {
                        if (--*pending == 0)
                          stop_all();
                      },
                      [=](caf::error&) mutable {
                        if (--*pending == 0)
                          stop_all();
                      });
            });
}

} // namespace

retranslator_supervisor_state::~retranslator_supervisor_state() {
  stages.stop_all();
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
        stage_info{kind, {}, std::make_shared<std::atomic<int64_t>>(0)});
  };
  add("cleaner", stage_kind::cleaner);
  add("sender", stage_kind::sender);
  for (int i = 1; i <= rt.producers; ++i)
    add("producer-" + std::to_string(i), stage_kind::producer);
  for (int i = 1; i <= rt.consumers; ++i)
    add("consumer-" + std::to_string(i), stage_kind::consumer);
  add("listener", stage_kind::listener);
  for (size_t i = 0; i < st.stages.size(); ++i)
    start(self, i);
  rewire(self);
  self->set_down_handler([=](caf::down_msg& dm) {
    if (auto index = self->state.stages.find(dm.source))
      on_stage_down(self, *index, dm.reason);
  });
  return {
      [=](restage_atom, uint64_t index, uint64_t generation) {
        if (self->state.stopping || !self->state.stages.restart_due(index, generation))
          return;
        start(self, index);
        rewire(self);
      },
      [=](drain_atom) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        drain(self, promise);
        return promise;
      },
      [=](caf::get_atom) -> caf::result<std::vector<std::string>, std::vector<caf::actor>> {
        std::vector<std::string> names;
        std::vector<caf::actor> handles;
        for (const auto& stage : self->state.stages)
          if (stage.up()) {
            names.push_back(stage.name);
            handles.push_back(stage.handle);
          }
        return {names, handles};
      },
  };
}

} // namespace lpa
