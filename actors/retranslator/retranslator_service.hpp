#pragma once

#include "actors/retranslator/retranslator_supervisor.hpp"
#include "config/settings.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>

namespace prometheus {
class Exposer;
class Registry;
} // namespace prometheus

namespace lpa {

// The retranslator, composed: metrics endpoint, migrations, actor system and the supervised
// pipeline. Constructing it starts relaying; drain() stops it cleanly.
class retranslator_service {
public:
  // Waits for PostgreSQL and applies migrations first (see db::migrate_when_reachable).
  retranslator_service(const settings& cfg, std::function<bool()> stop_requested);
  ~retranslator_service();

  retranslator_service(const retranslator_service&) = delete;
  retranslator_service& operator=(const retranslator_service&) = delete;

  // Clean stop (SIGTERM): stop reading, wait for in-flight events up to the shutdown deadline,
  // release every slot, stop the pipeline. Returns once the supervisor answered; may run on
  // another thread than wait().
  void drain();

  // Blocks until the pipeline ends; true when it ended by drain(), false when the supervisor
  // gave up (too many restarts). Call it from one thread only.
  bool wait();

  int metrics_port() const;
  caf::actor_system& system() { return *system_; }
  const retranslator_supervisor_actor& supervisor() const { return supervisor_; }
  // This process's retranslator id (the owner of its slot leases).
  const std::string& instance() const { return instance_; }

private:
  settings cfg_;
  std::string instance_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  caf::actor_system_config caf_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  retranslator_supervisor_actor supervisor_;
  caf::actor_addr supervisor_addr_;
  std::unique_ptr<caf::scoped_actor> watcher_; // monitors the supervisor
  bool ended_ = false;
  bool ended_normally_ = false;
};

} // namespace lpa
