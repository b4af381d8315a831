#include "grpc_gateway/api_metrics.hpp"

namespace lpa {

api_metrics::api_metrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      not_found_(prometheus::BuildCounter()
                     .Name("logistic_package_api_not_found_total")
                     .Help("Describe, Update and Remove calls answered NOT_FOUND")
                     .Register(*registry_)
                     .Add({})),
      cud_events_(prometheus::BuildCounter()
                      .Name("logistic_package_api_cud_event_total")
                      .Help("Successful Create, Update and Remove calls (each wrote one event)")
                      .Register(*registry_)
                      .Add({})),
      requests_(prometheus::BuildCounter()
                    .Name("logistic_package_api_grpc_requests_total")
                    .Help("Finished gRPC calls by method and status code")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("logistic_package_api_grpc_request_duration_seconds")
                   .Help("gRPC call latency from arrival to status, by method")
                   .Register(*registry_)) {}

void api_metrics::record(const std::string& method, grpc::StatusCode code,
                         std::chrono::nanoseconds latency, bool is_write) {
  requests_.Add({{"method", method}, {"code", status_code_name(code)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  latency_.Add({{"method", method}}, buckets)
      .Observe(std::chrono::duration<double>(latency).count());
  if (code == grpc::StatusCode::NOT_FOUND)
    not_found_.Increment();
  if (code == grpc::StatusCode::OK && is_write)
    cud_events_.Increment();
}

std::string status_code_name(grpc::StatusCode code) {
  switch (code) {
  case grpc::StatusCode::OK:
    return "OK";
  case grpc::StatusCode::CANCELLED:
    return "CANCELLED";
  case grpc::StatusCode::UNKNOWN:
    return "UNKNOWN";
  case grpc::StatusCode::INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    return "DEADLINE_EXCEEDED";
  case grpc::StatusCode::NOT_FOUND:
    return "NOT_FOUND";
  case grpc::StatusCode::ALREADY_EXISTS:
    return "ALREADY_EXISTS";
  case grpc::StatusCode::PERMISSION_DENIED:
    return "PERMISSION_DENIED";
  case grpc::StatusCode::RESOURCE_EXHAUSTED:
    return "RESOURCE_EXHAUSTED";
  case grpc::StatusCode::FAILED_PRECONDITION:
    return "FAILED_PRECONDITION";
  case grpc::StatusCode::ABORTED:
    return "ABORTED";
  case grpc::StatusCode::OUT_OF_RANGE:
    return "OUT_OF_RANGE";
  case grpc::StatusCode::UNIMPLEMENTED:
    return "UNIMPLEMENTED";
  case grpc::StatusCode::INTERNAL:
    return "INTERNAL";
  case grpc::StatusCode::UNAVAILABLE:
    return "UNAVAILABLE";
  case grpc::StatusCode::DATA_LOSS:
    return "DATA_LOSS";
  case grpc::StatusCode::UNAUTHENTICATED:
    return "UNAUTHENTICATED";
  default:
    return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

} // namespace lpa
