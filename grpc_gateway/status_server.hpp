#pragma once

#include <functional>
#include <memory>
#include <string>

class CivetServer;

namespace lpa {

struct status_info {
  std::string name;
  std::string version;
  std::string commit;
  std::string environment;
};

// This build's version and commit with the given name and environment.
status_info make_status_info(std::string name, std::string environment);

// HTTP status endpoints for orchestrators and people:
//   /live    200 while the process serves HTTP
//   /ready   200 when ready() says so, else 503 with the reason
//   /version JSON {name, version, commitHash, environment}
class status_server {
public:
  // ready(reason) returns true when the service can take traffic, else fills reason.
  using readiness = std::function<bool(std::string& reason)>;

  status_server(const std::string& host, int port, status_info info, readiness ready);
  ~status_server();

  int port() const { return port_; }

private:
  class handler;
  // Handlers first: the server, destroyed before them, still calls them until it stops.
  std::unique_ptr<handler> live_, ready_, version_;
  std::unique_ptr<CivetServer> server_;
  int port_ = 0;
};

} // namespace lpa
