#pragma once

#include "actors/history/api/history_api_mapping.hpp"
#include "actors/history/api/history_api_protocol.hpp"

#include "package_history.grpc.pb.h"

#include <caf/all.hpp>

#include <chrono>

namespace lpa::history_api {

struct service_settings {
  list_limits limits;
  std::chrono::milliseconds default_deadline{5000}; // for calls that carry no deadline
  bool allow_debug_per_request = true;              // honour `log_level: debug` metadata
};

// PackageHistoryService over gRPC's callback API, as the API's package_service: each call is
// validated, then handed to the reader supervisor by a one-shot actor that finishes the call
// from the reply. No gRPC thread waits and none of CAF's scheduler threads blocks.
class history_service final : public hv1::PackageHistoryService::CallbackService {
public:
  history_service(caf::actor_system& sys, supervisor_actor readers, service_settings settings);

  grpc::ServerUnaryReactor* ListPackageEventsV1(grpc::CallbackServerContext* ctx,
                                                const hv1::ListPackageEventsV1Request* req,
                                                hv1::ListPackageEventsV1Response* rep) override;
  grpc::ServerUnaryReactor* GetPackageAtV1(grpc::CallbackServerContext* ctx,
                                           const hv1::GetPackageAtV1Request* req,
                                           hv1::GetPackageAtV1Response* rep) override;

private:
  struct call; // one rpc in progress

  call begin(grpc::CallbackServerContext* ctx, const char* method);
  void finish(const call& c, const grpc::Status& status);

  // Sends `request...` to the supervisor and finishes the call with on_page(page), or with the
  // error's status.
  template <class OnPage, class... Ts>
  grpc::ServerUnaryReactor* ask(const call& c, OnPage on_page, Ts... request);

  caf::actor_system& sys_;
  supervisor_actor readers_;
  service_settings settings_;
};

} // namespace lpa::history_api
