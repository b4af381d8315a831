#pragma once

#include "actors/repo/protocol.hpp"
#include "actors/tracing/span.hpp"
#include "grpc_gateway/api_metrics.hpp"
#include "grpc_gateway/validation.hpp"

#include "logistic_package_api.grpc.pb.h"

#include <caf/all.hpp>

#include <chrono>

namespace lpa {

struct gateway_settings {
  std::chrono::milliseconds default_deadline{5000}; // for calls that carry no deadline
  bool allow_debug_per_request = true;              // honour `log_level: debug` metadata
  std::chrono::milliseconds retry_after{1000};      // the hint sent with RESOURCE_EXHAUSTED
  // How long past its deadline a write's outcome is awaited (the repository's own grace, plus
  // the hop): an answer after the COMMIT is never replaced by a timeout.
  std::chrono::milliseconds write_answer_grace{6000};
};

// LogisticPackageApiService over gRPC's callback API: each call is validated, then handed as a
// typed message to the repository supervisor by a one-shot actor that finishes the call from the
// reply. No gRPC thread waits and none of CAF's scheduler threads blocks. Each call is a SERVER
// span, child of the client's `traceparent` metadata when it sends one; its traceparent is what
// a write stores with its event.
class package_service final
    : public hablof::logistic_package_api::v1::LogisticPackageApiService::CallbackService {
public:
  package_service(caf::actor_system& sys, repo_supervisor_actor repo, api_metrics& metrics,
                  gateway_settings settings, tracing::tracer_ptr tracer);

  grpc::ServerUnaryReactor*
  CreatePackageV1(grpc::CallbackServerContext* ctx,
                  const hablof::logistic_package_api::v1::CreatePackageV1Request* req,
                  hablof::logistic_package_api::v1::CreatePackageV1Response* rep) override;
  grpc::ServerUnaryReactor*
  DescribePackageV1(grpc::CallbackServerContext* ctx,
                    const hablof::logistic_package_api::v1::DescribePackageV1Request* req,
                    hablof::logistic_package_api::v1::DescribePackageV1Response* rep) override;
  grpc::ServerUnaryReactor*
  ListPackagesV1(grpc::CallbackServerContext* ctx,
                 const hablof::logistic_package_api::v1::ListPackagesV1Request* req,
                 hablof::logistic_package_api::v1::ListPackagesV1Response* rep) override;
  grpc::ServerUnaryReactor*
  RemovePackageV1(grpc::CallbackServerContext* ctx,
                  const hablof::logistic_package_api::v1::RemovePackageV1Request* req,
                  hablof::logistic_package_api::v1::RemovePackageV1Response* rep) override;
  grpc::ServerUnaryReactor*
  UpdatePackageV1(grpc::CallbackServerContext* ctx,
                  const hablof::logistic_package_api::v1::UpdatePackageV1Request* req,
                  hablof::logistic_package_api::v1::UpdatePackageV1Response* rep) override;

private:
  struct call; // one rpc in progress

  call begin(grpc::CallbackServerContext* ctx, const char* method, bool is_write);
  void finish(const call& c, const grpc::Status& status);
  grpc::ServerUnaryReactor* reject(const call& c, const violations& bad);

  // Sends `request...` to the repository and finishes the call: on a reply of type T with
  // on_value(reply) and OK, on an error with its mapped status. Writes are awaited past the
  // deadline, until their outcome is known.
  template <class T, class OnValue, class... Ts>
  grpc::ServerUnaryReactor* ask(const call& c, std::string not_found_message, OnValue on_value,
                                Ts... request);

  caf::actor_system& sys_;
  repo_supervisor_actor repo_;
  api_metrics& metrics_;
  gateway_settings settings_;
  tracing::tracer_ptr tracer_;
};

} // namespace lpa
