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

} // namespace lpa
