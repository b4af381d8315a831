#include "actors/history/api/history_api_server.hpp"

#include "actors/history/api/history_service.hpp"
#include "grpc_gateway/transport.hpp"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

namespace lpa::history_api {

server::server(caf::actor_system& sys, const server_config& cfg,
               std::shared_ptr<actor_probes> probes)
    : cfg_(cfg) {
  auto credentials = server_credentials(cfg.transport); // bad TLS files stop the start here
  reader_pool_settings pool;
  pool.store = cfg.store;
  pool.readers = cfg.api.readers;
  pool.backoff_min = cfg.api.restart_backoff_min;
  pool.backoff_max = cfg.api.restart_backoff_max;
  pool.probes = std::move(probes);
  readers_ = sys.spawn(reader_supervisor, pool, health_);
  service_ = std::make_unique<history_service>(
      sys, readers_,
      service_settings{{cfg.api.list_default_limit, cfg.api.list_max_limit},
                       cfg.transport.default_deadline,
                       cfg.allow_debug_per_request});
  grpc::ServerBuilder builder;
  builder.AddListeningPort(cfg.api.host + ":" + std::to_string(cfg.api.port), credentials, &port_);
  apply_transport_limits(builder, cfg.transport);
  builder.RegisterService(service_.get());
  grpc_ = builder.BuildAndStart();
  if (!grpc_ || port_ == 0) {
    // The actor system waits for every actor at its end: stop the readers, or a failed start
    // would hang instead of exiting.
    caf::anon_send_exit(readers_, caf::exit_reason::user_shutdown);
    throw std::runtime_error("cannot listen for the history API on " + cfg.api.host + ":"
                             + std::to_string(cfg.api.port));
  }
  spdlog::info("history API (gRPC) on {}:{} ({}), {} readers", cfg.api.host, port_,
               transport_security(cfg.transport), cfg.api.readers);
}

server::~server() {
  shutdown();
}

void server::shutdown() {
  if (stopped_)
    return;
  stopped_ = true;
  if (grpc_)
    grpc_->Shutdown(std::chrono::system_clock::now() + cfg_.transport.shutdown_grace);
  caf::anon_send_exit(readers_, caf::exit_reason::user_shutdown);
}

} // namespace lpa::history_api
