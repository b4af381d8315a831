#include "actors/retranslator/retranslator_service.hpp"

#include "actors/http_endpoints.hpp"
#include "actors/scheduler.hpp"
#include "actors/tracing/otlp_exporter.hpp"
#include "db/migrator.hpp"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <random>
#include <unistd.h>

namespace lpa {

namespace {

// host:pid:random, so owners (locked_by) of two processes never collide, even across restarts
// that reuse a pid.
std::string make_instance_id() {
  char host[256] = "unknown";
  ::gethostname(host, sizeof(host) - 1);
  std::mt19937_64 rng{std::random_device{}()};
  char suffix[9];
  std::snprintf(suffix, sizeof(suffix), "%08x", static_cast<unsigned>(rng()));
  return std::string{host} + ":" + std::to_string(::getpid()) + ":" + suffix;
}

} // namespace

retranslator_service::retranslator_service(const settings& cfg,
                                           std::function<bool()> stop_requested)
    : cfg_(cfg), instance_(make_instance_id()) {
  registry_ = std::make_shared<prometheus::Registry>();
  exposer_ = make_metrics_endpoint(cfg.retranslator.metrics_host, cfg.retranslator.metrics_port);
  exposer_->RegisterCollectable(registry_);
  spdlog::info("retranslator {}: metrics on {}:{}/metrics", instance_,
               cfg.retranslator.metrics_host, metrics_port());

  db::store_settings store{cfg.db.dsn, cfg.db.connect_timeout, cfg.db.statement_timeout};
  db::migrate_when_reachable(store, stop_requested);
  {
    auto conn = db::connect(store);
    cfg_.retranslator.slots = static_cast<int>(
        db::ensure_slot_count(*conn, instance_, static_cast<size_t>(cfg.retranslator.slots)));
  }

  register_retranslator_protocol(caf_cfg_);
  use_work_sharing_scheduler(caf_cfg_);
  system_ = std::make_unique<caf::actor_system>(caf_cfg_);
  auto exporter = tracing::make_exporter(
      tracing::exporter_settings_of(cfg.tracing, cfg.tracing.service_name + "-retranslator"),
      *registry_);
  retranslator_plan plan{cfg_, instance_, std::make_shared<pipeline_metrics>(*registry_),
                         std::make_shared<actor_probes>(*registry_),
                         std::make_shared<tracing::tracer>(std::move(exporter))};
  watcher_ = std::make_unique<caf::scoped_actor>(*system_);
  supervisor_ = spawn_retranslator_supervisor(*system_, std::move(plan));
  (*watcher_)->monitor(supervisor_);
  supervisor_addr_ = supervisor_.address();
  spdlog::info("relaying {} to Kafka {} topic {} ({} slots, {} consumers, {} producers, window {})",
               "package_event", cfg.kafka.brokers, cfg.kafka.topic, cfg_.retranslator.slots,
               cfg.retranslator.consumers, cfg.retranslator.producers, cfg.retranslator.window);
}

retranslator_service::~retranslator_service() {
  if (!ended_) {
    drain();
    wait();
  }
  watcher_.reset();
  system_.reset();
}

void retranslator_service::drain() {
  // Its own scoped actor: wait() may be receiving on the watcher in another thread.
  caf::scoped_actor self{*system_};
  auto timeout = cfg_.retranslator.shutdown_deadline + std::chrono::seconds{15};
  self->request(supervisor_, timeout, drain_atom_v)
      .receive([](bool) {}, [](caf::error& err) { spdlog::debug("drain: {}", to_string(err)); });
}

bool retranslator_service::wait() {
  if (!ended_) {
    (*watcher_)->receive([&](caf::down_msg& dm) {
      ended_normally_ = !dm.reason || dm.reason == caf::exit_reason::user_shutdown;
    });
    ended_ = true;
  }
  return ended_normally_;
}

int retranslator_service::metrics_port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? cfg_.retranslator.metrics_port : ports.front();
}

} // namespace lpa
