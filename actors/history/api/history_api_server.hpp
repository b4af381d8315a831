#pragma once

#include "actors/history/api/history_api_protocol.hpp"
#include "actors/history/api/history_reader_supervisor.hpp"
#include "config/settings.hpp"

#include <caf/all.hpp>

#include <memory>

namespace grpc {
class Server;
}

namespace lpa::history_api {

class history_service;

// What the history API needs from the process that runs it.
struct server_config {
  settings::history_api_t api;         // listen address, page limits, readers
  settings::grpc_t transport;          // TLS, message size and keepalives, as the API's gRPC
  db::store_settings store;            // the history database
  bool allow_debug_per_request = true; // log.allow_debug_per_request
};

// The history API (PackageHistoryService), composed: the reader supervisor spawned into `sys`
// (whose config went through register_protocol) and the gRPC server on api.host:api.port.
// Constructing it brings it up; it does not wait for the database: until a reader connects,
// calls are answered UNAVAILABLE and ready() is false. shutdown() (or the destructor) lets
// in-flight calls finish within transport.shutdown_grace, then stops the readers.
class server {
public:
  // Throws config_error for bad TLS files, std::runtime_error when it cannot listen.
  server(caf::actor_system& sys, const server_config& cfg, std::shared_ptr<actor_probes> probes);
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  void shutdown(); // idempotent

  int port() const { return port_; }
  // A reader answered the last health ping: the history database is reachable.
  bool ready() const { return health_->db_answering; }
  const supervisor_actor& readers() const { return readers_; }

private:
  server_config cfg_;
  std::shared_ptr<reader_health> health_ = std::make_shared<reader_health>();
  supervisor_actor readers_;
  std::unique_ptr<history_service> service_;
  std::unique_ptr<grpc::Server> grpc_;
  int port_ = 0;
  bool stopped_ = false;
};

} // namespace lpa::history_api
