#include "actors/history/history_service.hpp"

#include "actors/http_endpoints.hpp"
#include "actors/tracing/otlp_exporter.hpp"
#include "db/migrator.hpp"
#include "grpc_gateway/status_server.hpp"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

namespace lpa::history {

history_service::history_service(const settings& cfg, std::function<bool()> stop_requested)
    : cfg_(cfg), db_ok_(std::make_shared<std::atomic<bool>>(false)) {
  const auto& h = cfg.history;
  registry_ = std::make_shared<prometheus::Registry>();
  exposer_ = make_metrics_endpoint(h.metrics_host, h.metrics_port);
  exposer_->RegisterCollectable(registry_);
  status_ = std::make_unique<status_server>(
      h.status_host, h.status_port,
      make_status_info(cfg.service.name + "-history", cfg.service.environment),
      [this](std::string& reason) {
        if (!db_ok_->load()) {
          reason = "the history database did not take a transaction yet, or the last one failed";
          return false;
        }
        auto* api = api_for_readiness_.load();
        if (api == nullptr || !api->ready()) {
          reason = "the history API has no reader connected to the history database yet";
          return false;
        }
        return true;
      });
  spdlog::info("package-history: metrics on {}:{}/metrics, status on {}:{}", h.metrics_host,
               metrics_port(), h.status_host, status_port());

  db::migrate_when_reachable({h.dsn, cfg.db.connect_timeout, cfg.db.statement_timeout},
                             stop_requested, db::history_migrations());
  db_ok_->store(true);

  register_history_protocol(caf_cfg_);
  history_api::register_protocol(caf_cfg_);
  system_ = std::make_unique<caf::actor_system>(caf_cfg_);
  auto exporter = tracing::make_exporter(
      tracing::exporter_settings_of(cfg.tracing, cfg.tracing.service_name + "-history"),
      *registry_);
  auto plan_probes = std::make_shared<actor_probes>(*registry_);
  history_plan plan{cfg_, std::make_shared<history_metrics>(*registry_), plan_probes,
                    std::make_shared<tracing::tracer>(std::move(exporter)), db_ok_};
  watcher_ = std::make_unique<caf::scoped_actor>(*system_);
  supervisor_ = spawn_history_supervisor(*system_, std::move(plan));
  (*watcher_)->monitor(supervisor_);
  api_ = std::make_unique<history_api::server>(
      *system_,
      history_api::server_config{cfg.history_api,
                                 cfg.grpc,
                                 {h.dsn, cfg.db.connect_timeout, cfg.db.statement_timeout},
                                 cfg.log.allow_debug_per_request},
      plan_probes);
  api_for_readiness_ = api_.get();
  spdlog::info("recording Kafka {} topic {} (group {}) into the history database with {} "
               "writer(s), window {}; history API on {}:{}",
               cfg.kafka.brokers, cfg.kafka.topic, h.group, h.writers, h.window,
               cfg.history_api.host, api_->port());
}

history_service::~history_service() {
  if (!ended_) {
    drain();
    wait();
  }
  api_.reset();
  watcher_.reset();
  system_.reset();
  status_.reset();
}

void history_service::drain() {
  api_for_readiness_ = nullptr;
  api_->shutdown();
  caf::scoped_actor self{*system_};
  self->request(supervisor_, std::chrono::seconds{30}, drain_atom_v)
      .receive([](bool) {}, [](caf::error& err) { spdlog::debug("drain: {}", to_string(err)); });
}

bool history_service::wait() {
  if (!ended_) {
    (*watcher_)->receive([&](caf::down_msg& dm) {
      ended_normally_ = !dm.reason || dm.reason == caf::exit_reason::user_shutdown;
    });
    ended_ = true;
  }
  return ended_normally_;
}

int history_service::metrics_port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? cfg_.history.metrics_port : ports.front();
}

int history_service::status_port() const {
  return status_->port();
}

} // namespace lpa::history
