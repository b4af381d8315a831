#pragma once

#include "actors/repo/protocol.hpp"
#include "actors/repo/repo_supervisor.hpp"
#include "config/settings.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>

namespace grpc {
class Server;
}

namespace prometheus {
class Exposer;
class Registry;
} // namespace prometheus

namespace lpa {

class api_metrics;
class package_service;
class rest_gateway;
class status_server;

// The API server, composed: status and metrics endpoints, migrations, the repository supervisor
// and the gRPC service with its REST gateway. Constructing it brings the service up; shutdown()
// (or the destructor) drains in-flight calls and stops it. Ports given as 0 are picked by the OS
// (see the getters).
class api_server {
public:
  // Waits for PostgreSQL (retrying every second, while /live answers and /ready says why not)
  // and applies migrations before serving gRPC. Throws db::schema_too_new when the database is
  // ahead of this binary, db::startup_cancelled when stop_requested() turns true while waiting.
  api_server(const settings& cfg, std::function<bool()> stop_requested);
  ~api_server();

  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  // Stops accepting calls, lets in-flight calls finish within grpc.shutdown_grace, then stops
  // the actors. Idempotent.
  void shutdown();

  int grpc_port() const { return grpc_port_; }
  int status_port() const;
  int rest_port() const { return rest_port_; }
  int metrics_port() const;
  caf::actor_system& system() { return *system_; }
  const repo_supervisor_actor& repo() const { return repo_; }

private:
  settings cfg_;
  std::shared_ptr<repo_health> health_ = std::make_shared<repo_health>();
  std::atomic<bool> migrated_{false};
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<api_metrics> metrics_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<status_server> status_;
  caf::actor_system_config caf_cfg_;
  std::unique_ptr<caf::actor_system> system_;
  repo_supervisor_actor repo_;
  std::unique_ptr<package_service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<rest_gateway> rest_;
  int grpc_port_ = 0;
  int rest_port_ = 0;
  bool stopped_ = false;
};

} // namespace lpa
