#include "actors/history/history_supervisor.hpp"

#include "actors/history/kafka_consumer_actor.hpp"
#include "actors/history/pruner_actor.hpp"
#include "actors/history/writer_actor.hpp"
#include "actors/supervision.hpp"

#include <spdlog/spdlog.h>

namespace lpa::history {

namespace {

enum class stage_kind { consumer, writer, pruner };

struct stage_info {
  stage_kind kind = stage_kind::consumer;
};

struct supervisor_state {
  ~supervisor_state() { stages.stop_all(); } // stages end with their supervisor, however it ends

  history_plan plan;
  child_table<stage_info> stages;
  bool stopping = false;
  static inline const char* name = "history-supervisor";
};

using sup_ptr = history_supervisor_actor::stateful_pointer<supervisor_state>;

db::store_settings history_store_of(const settings& cfg) {
  return {cfg.history.dsn, cfg.db.connect_timeout, cfg.db.statement_timeout};
}

caf::actor spawn_stage(sup_ptr self, supervised_child<stage_info>& stage) {
  const auto& plan = self->state.plan;
  const auto& h = plan.cfg.history;
  auto& sys = self->system();
  switch (stage.extra.kind) {
  case stage_kind::consumer: {
    consumer_settings s{plan.cfg.kafka.brokers, plan.cfg.kafka.topic, h.group,
                        static_cast<size_t>(h.window), static_cast<size_t>(h.batch_max)};
    return caf::actor_cast<caf::actor>(spawn_kafka_consumer(sys, s, plan.metrics, stage.probe));
  }
  case stage_kind::writer: {
    writer_settings s{stage.name, history_store_of(plan.cfg), static_cast<size_t>(h.batch_max),
                      h.gap_hold, h.retry_backoff_min,        h.retry_backoff_max};
    return caf::actor_cast<caf::actor>(
        spawn_writer(sys, s, plan.metrics, stage.probe, plan.tracer, plan.db_ok));
  }
  case stage_kind::pruner: {
    pruner_settings s;
    s.store = history_store_of(plan.cfg);
    s.retention_days = h.retention_days;
    return caf::actor_cast<caf::actor>(spawn_pruner(sys, s, plan.metrics, stage.probe));
  }
  }
  return {};
}

// The consumer gets the writers in index order; a writer that is down has a null handle, and
// the consumer reads nothing until it is back.
void rewire(sup_ptr self) {
  std::vector<writer_actor> writers;
  consumer_actor consumer;
  for (const auto& stage : self->state.stages) {
    if (stage.extra.kind == stage_kind::writer)
      writers.push_back(caf::actor_cast<writer_actor>(stage.handle));
    else if (stage.extra.kind == stage_kind::consumer)
      consumer = caf::actor_cast<consumer_actor>(stage.handle);
  }
  if (consumer)
    self->send(consumer, wire_atom_v, std::move(writers));
}

void start(sup_ptr self, size_t index) {
  auto& stages = self->state.stages;
  stages.start(self, index, spawn_stage(self, stages[index]));
}

void on_stage_down(sup_ptr self, size_t index, const caf::error& reason) {
  auto& st = self->state;
  auto delay = st.stages.stopped(index);
  auto& stage = st.stages[index];
  if (st.stopping)
    return;
  if (!delay) {
    give_up(self, stage.name, reason, st.plan.cfg.history.restart_max,
            st.plan.cfg.history.restart_window);
    return;
  }
  spdlog::warn("{} stopped ({}), restarting in {} ms", stage.name, self->system().render(reason),
               delay->count());
  rewire(self); // first: the consumer stops handing records to the dead writer ...
  if (stage.extra.kind == stage_kind::writer)
    for (const auto& other : st.stages)
      if (other.extra.kind == stage_kind::consumer && other.up()) // ... then reads them again
        self->send(caf::actor_cast<consumer_actor>(other.handle), rewind_atom_v);
  self->delayed_send(self, *delay, restage_atom_v, uint64_t{index}, stage.generation);
}

history_supervisor_actor::behavior_type history_supervisor(sup_ptr self, history_plan plan) {
  auto& st = self->state;
  st.plan = std::move(plan);
  const auto& h = st.plan.cfg.history;
  st.stages = child_table<stage_info>{restart_policy{h.restart_backoff_min, h.restart_backoff_max,
                                                     static_cast<size_t>(h.restart_max),
                                                     h.restart_window}};
  auto add = [&](std::string name, stage_kind kind) {
    auto probe = st.plan.probes->make(name);
    st.stages.add(std::move(name),
                  restart_policy{h.restart_backoff_min, h.restart_backoff_max, 0, h.restart_window},
                  probe, stage_info{kind});
  };
  for (int i = 1; i <= h.writers; ++i)
    add("writer-" + std::to_string(i), stage_kind::writer);
  add("kafka-consumer", stage_kind::consumer);
  if (h.retention_days > 0)
    add("pruner", stage_kind::pruner);
  start_children(self, start, rewire, on_stage_down);
  return {
      [=](restage_atom, uint64_t index, uint64_t generation) {
        restart_child(self, index, generation, start, rewire);
      },
      [=](drain_atom) -> bool {
        self->state.stopping = true;
        self->state.stages.stop_all();
        self->quit();
        return true;
      },
      [=](caf::get_atom) -> caf::result<std::vector<std::string>, std::vector<caf::actor>> {
        auto [names, handles] = self->state.stages.running();
        return {names, handles};
      },
  };
}

} // namespace

history_supervisor_actor spawn_history_supervisor(caf::actor_system& sys, history_plan plan) {
  return sys.spawn(history_supervisor, std::move(plan));
}

} // namespace lpa::history
