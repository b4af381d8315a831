#pragma once

#include "actors/history/api/history_api_server.hpp"
#include "actors/history/history_supervisor.hpp"
#include "config/settings.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <functional>
#include <memory>

namespace prometheus {
class Exposer;
class Registry;
} // namespace prometheus

namespace lpa {
class status_server;
}

namespace lpa::history {

// package-history, composed: metrics and status endpoints, its database's migrations, the actor
// system, the supervised ingest pipeline and the history API (PackageHistoryService) beside it.
// Constructing it starts consuming and serving; drain() stops both.
class history_service {
public:
  // Waits for the history database and applies its migrations first.
  history_service(const settings& cfg, std::function<bool()> stop_requested);
  ~history_service();

  history_service(const history_service&) = delete;
  history_service& operator=(const history_service&) = delete;

  // Clean stop (SIGTERM): every stage stops; the consumer commits its stored offsets and leaves
  // the group. May run on another thread than wait().
  void drain();

  // Blocks until the pipeline ends; true when it ended by drain(), false when the supervisor
  // gave up (too many restarts). Call it from one thread only.
  bool wait();

  int metrics_port() const;
  int status_port() const;
  int history_api_port() const { return api_->port(); }
  caf::actor_system& system() { return *system_; }
  const history_supervisor_actor& supervisor() const { return supervisor_; }

private:
  settings cfg_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<std::atomic<bool>> db_ok_;
  std::unique_ptr<status_server> status_;
  caf::actor_system_config caf_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  history_supervisor_actor supervisor_;
  std::unique_ptr<history_api::server> api_;
  std::atomic<const history_api::server*> api_for_readiness_{nullptr}; // read by status threads
  std::unique_ptr<caf::scoped_actor> watcher_;                         // monitors the supervisor
  bool ended_ = false;
  bool ended_normally_ = false;
};

} // namespace lpa::history
