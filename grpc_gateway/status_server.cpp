#include "grpc_gateway/status_server.hpp"

#include "actors/http_endpoints.hpp"

#include <CivetServer.h>

#ifndef LPA_VERSION
#define LPA_VERSION "unknown"
#endif
#ifndef LPA_COMMIT
#define LPA_COMMIT "unknown"
#endif

namespace lpa {

status_info make_status_info(std::string name, std::string environment) {
  return {std::move(name), LPA_VERSION, LPA_COMMIT, std::move(environment)};
}

class status_server::handler : public CivetHandler {
public:
  // body(status) returns the response body and sets the HTTP status code.
  using responder = std::function<std::string(int& status)>;

  handler(std::string content_type, responder respond)
      : content_type_(std::move(content_type)), respond_(std::move(respond)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    int status = 200;
    auto body = respond_(status);
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n",
              status, status == 200 ? "OK" : "Service Unavailable", content_type_.c_str(),
              body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

private:
  std::string content_type_;
  responder respond_;
};

namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\')
      out += '\\';
    out += ch;
  }
  return out + "\"";
}

} // namespace

status_server::status_server(const std::string& host, int port, status_info info, readiness ready) {
  live_ = std::make_unique<handler>("text/plain", [](int&) { return std::string{"live\n"}; });
  ready_ = std::make_unique<handler>("text/plain", [ready = std::move(ready)](int& status) {
    std::string reason;
    if (ready(reason))
      return std::string{"ready\n"};
    status = 503;
    return "not ready: " + reason + "\n";
  });
  auto version_body = "{\"name\":" + json_string(info.name) + ",\"version\":"
                      + json_string(info.version) + ",\"commitHash\":" + json_string(info.commit)
                      + ",\"environment\":" + json_string(info.environment) + "}\n";
  version_ = std::make_unique<handler>("application/json",
                                       [version_body](int&) { return version_body; });
  std::vector<std::string> options{"listening_ports",    host + ":" + std::to_string(port),
                                   "num_threads",        http_threads,
                                   "request_timeout_ms", http_request_timeout_ms};
  server_ = std::make_unique<CivetServer>(options);
  server_->addHandler("/live", live_.get());
  server_->addHandler("/ready", ready_.get());
  server_->addHandler("/version", version_.get());
  auto ports = server_->getListeningPorts();
  port_ = ports.empty() ? port : ports.front();
}

status_server::~status_server() = default;

} // namespace lpa
