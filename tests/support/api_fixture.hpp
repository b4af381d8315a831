#pragma once

#include "config/settings.hpp"
#include "grpc_gateway/api_server.hpp"
#include "tests/support/test_postgres.hpp"

#include "logistic_package_api.grpc.pb.h"

#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace lpa::test {

namespace v1 = hablof::logistic_package_api::v1;
using namespace std::chrono_literals;

// Settings for a server on free loopback ports against `dsn`.
settings test_settings(const std::string& dsn);

// Makes `cfg` export every span to the OTLP `endpoint` as soon as it ends.
void export_spans_to(settings& cfg, const std::string& endpoint);

// An API server on the process's throwaway PostgreSQL, with empty tables, a gRPC stub and a
// direct database connection for assertions.
struct api_fixture {
  // `adjust` changes the test settings before the server starts.
  explicit api_fixture(const std::function<void(settings&)>& adjust = {});
  ~api_fixture();

  // Calls stub method `m` with a deadline and optional metadata.
  template <class Req, class Rep>
  grpc::Status call(grpc::Status (v1::LogisticPackageApiService::Stub::*m)(grpc::ClientContext*,
                                                                           const Req&, Rep*),
                    const Req& req, Rep* rep, std::chrono::milliseconds deadline = 5s,
                    const std::map<std::string, std::string>& metadata = {}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + deadline);
    for (const auto& [key, value] : metadata)
      ctx.AddMetadata(key, value);
    return (stub.get()->*m)(&ctx, req, rep);
  }

  // Creates a package and returns its id (fails the test on a non-OK status).
  uint64_t create(const std::string& title, const std::string& material, float volume,
                  bool reusable = false);

  // SELECT count(*) ... with the given WHERE clause.
  long long count(const std::string& table, const std::string& where = "true");

  test_postgres& pg;
  settings cfg;
  std::unique_ptr<api_server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::LogisticPackageApiService::Stub> stub;
  pqxx::connection db;
};

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers; // names in lower case
  std::string body;
};

// One HTTP/1.0 request to http://127.0.0.1:port/path with the given headers (and, when not
// empty, the body with its Content-Length).
http_reply http_request(int port, const std::string& method, const std::string& path,
                        const std::string& body = "",
                        const std::map<std::string, std::string>& headers = {});

// GET http://127.0.0.1:port/path; returns the body and sets status to the HTTP status code.
std::string http_get(int port, const std::string& path, int& status);

// The value of one series in a Prometheus text body, e.g. `name` or `name{label="x"}`; -1 when
// the series is absent.
double metric_value(const std::string& body, const std::string& series);

// Polls the /metrics endpoint on `port` until the series' value satisfies `holds` (an absent
// series is -1); false when `limit` passed first.
bool await_metric(int port, const std::string& series, const std::function<bool(double)>& holds,
                  std::chrono::milliseconds limit = std::chrono::seconds{60});

} // namespace lpa::test
