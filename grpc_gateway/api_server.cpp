#include "grpc_gateway/api_server.hpp"

#include "actors/http_endpoints.hpp"
#include "actors/scheduler.hpp"
#include "actors/tracing/otlp_exporter.hpp"
#include "db/migrator.hpp"
#include "db/package_store.hpp"
#include "db/pg_errors.hpp"
#include "grpc_gateway/api_metrics.hpp"
#include "grpc_gateway/package_service.hpp"
#include "grpc_gateway/rest_gateway.hpp"
#include "grpc_gateway/status_server.hpp"
#include "grpc_gateway/transport.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

namespace lpa {

namespace {

db::store_settings store_settings_of(const settings& cfg) {
  return db::store_settings{cfg.db.dsn, cfg.db.connect_timeout, cfg.db.statement_timeout};
}

repo_pool_settings repo_pool_settings_of(const settings& cfg) {
  repo_pool_settings pool;
  pool.actor.store = store_settings_of(cfg);
  pool.actor.key_retention = cfg.repo.idempotency_retention;
  pool.actor.group_commit_max = static_cast<size_t>(cfg.repo.group_commit_max);
  pool.writers = cfg.db.writers;
  pool.readers = cfg.db.readers;
  pool.write_queue = static_cast<size_t>(cfg.repo.write_queue);
  pool.read_queue = static_cast<size_t>(cfg.repo.read_queue);
  pool.backoff_min = cfg.repo.restart_backoff_min;
  pool.backoff_max = cfg.repo.restart_backoff_max;
  pool.key_expiry_interval = cfg.repo.idempotency_expiry_interval;
  return pool;
}

} // namespace

api_server::api_server(const settings& cfg, std::function<bool()> stop_requested) : cfg_(cfg) {
  auto credentials = server_credentials(cfg.grpc); // bad TLS files stop the start here
  registry_ = std::make_shared<prometheus::Registry>();
  metrics_ = std::make_unique<api_metrics>(registry_);
  exposer_ = make_metrics_endpoint(cfg.metrics.host, cfg.metrics.port);
  exposer_->RegisterCollectable(registry_);
  status_ = std::make_unique<status_server>(
      cfg.status.host, cfg.status.port, make_status_info(cfg.service.name, cfg.service.environment),
      [this](std::string& reason) {
        if (!migrated_) {
          reason = "database migrations not applied yet";
          return false;
        }
        if (!health_->db_answering) {
          reason = "PostgreSQL does not answer";
          return false;
        }
        return true;
      });
  spdlog::info("status on {}:{}, metrics on {}:{}/metrics", cfg.status.host, status_->port(),
               cfg.metrics.host, metrics_port());

  db::migrate_when_reachable(store_settings_of(cfg), stop_requested);
  migrated_ = true;

  register_repo_protocol(caf_cfg_);
  use_work_sharing_scheduler(caf_cfg_);
  system_ = std::make_unique<caf::actor_system>(caf_cfg_);
  auto tracer = std::make_shared<tracing::tracer>(tracing::make_exporter(
      tracing::exporter_settings_of(cfg.tracing, cfg.tracing.service_name), *registry_));
  auto pool = repo_pool_settings_of(cfg);
  pool.probes = std::make_shared<actor_probes>(*registry_);
  pool.actor.tracer = tracer;
  pool.actor.metrics = std::make_shared<repo_metrics>(*registry_);
  repo_ = system_->spawn(repo_supervisor, pool, health_);

  service_ = std::make_unique<package_service>(
      *system_, repo_, *metrics_,
      gateway_settings{cfg.grpc.default_deadline, cfg.log.allow_debug_per_request,
                       cfg.repo.retry_after,
                       pool.write_answer_grace() + std::chrono::milliseconds{500}},
      std::move(tracer));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(cfg.grpc.host + ":" + std::to_string(cfg.grpc.port), credentials,
                           &grpc_port_);
  apply_transport_limits(builder, cfg.grpc);
  builder.RegisterService(service_.get());
  server_ = builder.BuildAndStart();
  if (!server_ || grpc_port_ == 0) {
    // The actor system's destructor waits for every actor: stop the supervisor first, or a
    // failed start would hang instead of exiting.
    caf::anon_send_exit(repo_, caf::exit_reason::user_shutdown);
    throw std::runtime_error("cannot listen for gRPC on " + cfg.grpc.host + ":"
                             + std::to_string(cfg.grpc.port));
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  spdlog::info("gRPC on {}:{} ({})", cfg.grpc.host, grpc_port_, transport_security(cfg.grpc));
  try {
    rest_ = std::make_unique<rest_gateway>(cfg.rest.host, cfg.rest.port,
                                           server_->InProcessChannel(grpc::ChannelArguments{}),
                                           *registry_);
  } catch (const std::exception& e) {
    caf::anon_send_exit(repo_, caf::exit_reason::user_shutdown); // as for gRPC, above
    throw std::runtime_error("cannot listen for REST on " + cfg.rest.host + ":"
                             + std::to_string(cfg.rest.port) + ": " + e.what());
  }
  rest_port_ = rest_->port();
  spdlog::info("REST gateway on {}:{}", cfg.rest.host, rest_port_);
}

api_server::~api_server() {
  shutdown();
}

void api_server::shutdown() {
  if (stopped_)
    return;
  stopped_ = true;
  if (server_) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    spdlog::info("draining in-flight calls (up to {} ms)", cfg_.grpc.shutdown_grace.count());
    server_->Shutdown(std::chrono::system_clock::now() + cfg_.grpc.shutdown_grace);
  }
  rest_.reset(); // after the drain, which also covers the REST calls in flight
  if (system_) {
    caf::anon_send_exit(repo_, caf::exit_reason::user_shutdown);
    system_->await_all_actors_done();
  }
  spdlog::info("stopped");
}

int api_server::status_port() const {
  return status_->port();
}

int api_server::metrics_port() const {
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? cfg_.metrics.port : ports.front();
}

} // namespace lpa
