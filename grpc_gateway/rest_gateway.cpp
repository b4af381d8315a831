#include "grpc_gateway/rest_gateway.hpp"

#include "actors/http_endpoints.hpp"
#include "grpc_gateway/openapi.hpp"
#include "grpc_gateway/rest_mapping.hpp"
#include "grpc_gateway/rest_routes.hpp"

#include <CivetServer.h>
#include <grpcpp/grpcpp.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

namespace lpa {

namespace {

namespace v1 = hablof::logistic_package_api::v1;

// gRPC's default limit on a received message: a larger body could not be sent on anyway.
constexpr long long max_body_bytes = 4 * 1024 * 1024;

// HTTP headers forwarded as gRPC metadata under their lower-case names. Others reach the
// service as grpc-gateway forwards them: "Grpc-Metadata-<key>" becomes <key>.
constexpr const char* forwarded_headers[] = {"x-request-id", "traceparent", "idempotency-key"};
constexpr const char metadata_prefix[] = "grpc-metadata-";

struct http_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

// gRPC accepts only these as the key and value of text metadata; a reserved grpc-* key or a
// binary one (-bin) is not the client's to set through the gateway.
bool is_forwardable(const std::string& key, const std::string& value) {
  bool binary = key.size() >= 4 && key.compare(key.size() - 4, 4, "-bin") == 0;
  bool key_ok
      = !key.empty() && !binary && key.rfind("grpc-", 0) != 0
        && std::all_of(key.begin(), key.end(), [](unsigned char ch) {
             return std::islower(ch) || std::isdigit(ch) || ch == '-' || ch == '_' || ch == '.';
           });
  return key_ok && std::all_of(value.begin(), value.end(), [](unsigned char ch) {
           return ch >= 0x20 && ch <= 0x7e;
         });
}

// Sets the metadata and the deadline of the call; INVALID_ARGUMENT for a Grpc-Timeout that does
// not parse, as grpc-gateway answers it.
grpc::Status forward_headers(const mg_request_info& info, grpc::ClientContext& ctx) {
  for (int i = 0; i < info.num_headers; ++i) {
    auto name = lowercase(info.http_headers[i].name);
    std::string value = info.http_headers[i].value;
    if (name == "grpc-timeout") {
      auto timeout = rest::parse_grpc_timeout(value);
      if (!timeout)
        return {grpc::StatusCode::INVALID_ARGUMENT, "invalid grpc-timeout: " + value};
      ctx.set_deadline(std::chrono::system_clock::now() + *timeout);
      continue;
    }
    bool listed = std::find(std::begin(forwarded_headers), std::end(forwarded_headers), name)
                  != std::end(forwarded_headers);
    if (!listed && name.rfind(metadata_prefix, 0) == 0)
      name = name.substr(sizeof(metadata_prefix) - 1);
    else if (!listed)
      continue;
    if (is_forwardable(name, value))
      ctx.AddMetadata(name, value);
  }
  return grpc::Status::OK;
}

std::string metadata_value(const std::multimap<grpc::string_ref, grpc::string_ref>& md,
                           const char* key) {
  auto i = md.find(key);
  return i == md.end() ? std::string{} : std::string{i->second.data(), i->second.size()};
}

http_response ok_response(std::string content_type, std::string body) {
  return http_response{200, std::move(content_type), std::move(body), {}};
}

http_response failure(const grpc::Status& status) {
  http_response out;
  out.status = rest::http_status_of(status.error_code());
  out.body = rest::error_body(status);
  return out;
}

// The body, or nullopt when it is larger than max_body_bytes.
std::optional<std::string> read_body(mg_connection* conn) {
  std::string body;
  char buf[8192];
  for (int n; (n = mg_read(conn, buf, sizeof(buf))) > 0;) {
    body.append(buf, static_cast<size_t>(n));
    if (static_cast<long long>(body.size()) > max_body_bytes)
      return std::nullopt;
  }
  return body;
}

void write_response(mg_connection* conn, const http_response& response) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " "
                     + mg_get_response_code_text(conn, response.status)
                     + "\r\nContent-Type: " + response.content_type
                     + "\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\n";
  for (const auto& [name, value] : response.headers)
    head += name + ": " + value + "\r\n";
  head += "Connection: close\r\n\r\n";
  mg_write(conn, head.data(), head.size());
  mg_write(conn, response.body.data(), response.body.size());
}

} // namespace

class rest_gateway::dispatcher {
public:
  dispatcher(std::shared_ptr<grpc::Channel> channel, prometheus::Registry& registry)
      : stub_(v1::LogisticPackageApiService::NewStub(std::move(channel))),
        routes_(rest::package_routes(*stub_)),
        pages_{{"/swagger.json", ok_response("application/json", rest::openapi_document(routes_))},
               {"/", ok_response("text/html; charset=utf-8", rest::routes_page(routes_))}},
        requests_(prometheus::BuildCounter()
                      .Name("http_microservice_requests_total")
                      .Help("HTTP requests to the REST gateway (every route, page and error)")
                      .Register(registry)
                      .Add({})) {}

  // The civetweb request handler; returns the HTTP status sent.
  static int handle(mg_connection* conn, void* self) {
    http_response response;
    try {
      response = static_cast<dispatcher*>(self)->serve(conn);
    } catch (const std::exception& e) { // must not unwind into civetweb's C code
      spdlog::error("REST request failed: {}", e.what());
      response = failure({grpc::StatusCode::INTERNAL, "internal error"});
    }
    write_response(conn, response);
    return response.status;
  }

private:
  http_response serve(mg_connection* conn) {
    requests_.Increment();
    const auto& info = *mg_get_request_info(conn);
    std::string verb = info.request_method;
    std::string path = info.local_uri;
    auto response = route(conn, info, verb, path);
    spdlog::debug("REST {} {} -> {}", verb, path, response.status);
    return response;
  }

  // grpc-gateway v2's routing: a known path with another verb is 501 "Method Not Allowed"
  // (gRPC code UNIMPLEMENTED), an unknown path 404 "Not Found".
  http_response route(mg_connection* conn, const mg_request_info& info, const std::string& verb,
                      const std::string& path) {
    bool path_known = false;
    for (const auto& r : routes_) {
      auto parameters = rest::match_path(r.path, path);
      path_known = path_known || parameters.has_value();
      if (parameters && r.verb == verb)
        return call(r, *parameters, conn, info);
    }
    for (const auto& [page_path, page] : pages_) {
      path_known = path_known || page_path == path;
      if (page_path == path && verb == "GET")
        return page;
    }
    if (path_known)
      return failure({grpc::StatusCode::UNIMPLEMENTED, "Method Not Allowed"});
    return failure({grpc::StatusCode::NOT_FOUND, "Not Found"});
  }

  // The request message from the body, or from the path and query parameters.
  grpc::Status bind_request(const rest::route& r, const rest::path_values& parameters,
                            mg_connection* conn, const mg_request_info& info,
                            google::protobuf::Message& request) {
    if (r.body_is_request) {
      auto body = read_body(conn);
      if (!body)
        return {grpc::StatusCode::INVALID_ARGUMENT,
                "request body larger than " + std::to_string(max_body_bytes) + " bytes"};
      return rest::from_json(*body, request);
    }
    std::vector<std::string> in_path;
    for (const auto& [name, value] : parameters) {
      in_path.push_back(name);
      if (auto bound = rest::bind_parameter(request, name, value); !bound.ok())
        return bound;
    }
    return rest::bind_query(request, info.query_string ? info.query_string : "", in_path);
  }

  http_response call(const rest::route& r, const rest::path_values& parameters, mg_connection* conn,
                     const mg_request_info& info) {
    grpc::ClientContext ctx;
    if (auto forwarded = forward_headers(info, ctx); !forwarded.ok())
      return failure(forwarded);
    std::unique_ptr<google::protobuf::Message> request{r.request->New()};
    if (auto bound = bind_request(r, parameters, conn, info, *request); !bound.ok())
      return failure(bound);
    std::unique_ptr<google::protobuf::Message> reply{r.response->New()};
    auto status = r.call(ctx, *request, *reply);
    auto out
        = status.ok() ? ok_response("application/json", rest::to_json(*reply)) : failure(status);
    if (auto id = metadata_value(ctx.GetServerInitialMetadata(), "x-request-id"); !id.empty())
      out.headers.emplace_back("X-Request-Id", id);
    if (auto retry = metadata_value(ctx.GetServerTrailingMetadata(), "retry-after"); !retry.empty())
      out.headers.emplace_back("Retry-After", retry);
    return out;
  }

  std::unique_ptr<v1::LogisticPackageApiService::Stub> stub_;
  std::vector<rest::route> routes_;
  std::vector<std::pair<std::string, http_response>> pages_;
  prometheus::Counter& requests_;
};

rest_gateway::rest_gateway(const std::string& host, int port,
                           std::shared_ptr<grpc::Channel> channel, prometheus::Registry& registry)
    : dispatcher_(std::make_unique<dispatcher>(std::move(channel), registry)) {
  std::vector<std::string> options{"listening_ports",    host + ":" + std::to_string(port),
                                   "num_threads",        http_threads,
                                   "request_timeout_ms", http_request_timeout_ms};
  server_ = std::make_unique<CivetServer>(options);
  // One handler for every path and verb: routing is the dispatcher's. CivetServer hands out its
  // context as const only, but registering a handler on it is what the C API is for.
  mg_set_request_handler(const_cast<mg_context*>(server_->getContext()), "/", &dispatcher::handle,
                         dispatcher_.get());
  auto ports = server_->getListeningPorts();
  port_ = ports.empty() ? port : ports.front();
}

rest_gateway::~rest_gateway() = default;

} // namespace lpa
