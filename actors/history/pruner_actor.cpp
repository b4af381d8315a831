#include "actors/history/pruner_actor.hpp"

#include "db/history_store.hpp"

#include <spdlog/spdlog.h>

namespace lpa::history {

namespace {

struct pruner_state {
  static inline const char* name = "pruner";
};

using pruner_ptr = pruner_actor::stateful_pointer<pruner_state>;

void prune_round(const pruner_settings& settings, history_metrics& metrics) {
  try {
    db::history_store store{settings.store};
    size_t total = 0;
    for (;;) {
      auto n = store.prune(settings.retention_days, settings.slice);
      total += n;
      metrics.pruned.Increment(static_cast<double>(n));
      if (n < settings.slice)
        break;
    }
    if (total > 0)
      spdlog::info("pruner: deleted {} history events older than {} days", total,
                   settings.retention_days);
  } catch (const std::exception& e) {
    metrics.db_errors.Increment();
    spdlog::warn("pruner: history database: {}; trying again in {} s", e.what(),
                 settings.interval.count() / 1000);
  }
}

pruner_actor::behavior_type pruner(pruner_ptr self, pruner_settings settings, metrics_ptr metrics,
                                   actor_probe_ptr probe) {
  self->send(self, prune_atom_v);
  return {
      [=](prune_atom) {
        auto scope = probe->enter(self);
        prune_round(settings, *metrics);
        self->delayed_send(self, settings.interval, prune_atom_v);
      },
  };
}

} // namespace

pruner_actor spawn_pruner(caf::actor_system& sys, pruner_settings settings, metrics_ptr metrics,
                          actor_probe_ptr probe) {
  return sys.spawn<caf::detached>(pruner, std::move(settings), std::move(metrics),
                                  std::move(probe));
}

} // namespace lpa::history
