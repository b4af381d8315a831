#pragma once

#include <memory>
#include <string>

class CivetServer;

namespace grpc {
class Channel;
}

namespace prometheus {
class Registry;
}

namespace lpa {

// The REST/JSON gateway of the replaced service's grpc-gateway: the same paths, verbs, JSON,
// status mapping and error body (see rest_routes.hpp and rest_mapping.hpp), plus /swagger.json
// and a page at / listing the routes. Each request becomes a call through `channel` -- the gRPC
// server's in-process channel -- so validation, deadlines, metrics and status mapping are the
// gRPC path's own. Counts every request in http_microservice_requests_total on `registry`.
class rest_gateway {
public:
  // Listens on host:port (port 0 picks a free one); throws when it cannot.
  rest_gateway(const std::string& host, int port, std::shared_ptr<grpc::Channel> channel,
               prometheus::Registry& registry);
  ~rest_gateway();

  rest_gateway(const rest_gateway&) = delete;
  rest_gateway& operator=(const rest_gateway&) = delete;

  int port() const { return port_; }

private:
  class dispatcher;
  // The dispatcher first: the server, destroyed before it, still calls it until it stops.
  std::unique_ptr<dispatcher> dispatcher_;
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
};

} // namespace lpa
