#pragma once

#include "logistic_package_api.grpc.pb.h"

#include <google/protobuf/message.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lpa::rest {

// One HTTP binding of an rpc, as a google.api.http annotation declares it.
struct route {
  // Calls the rpc with messages of the prototypes' types.
  using invoker = std::function<grpc::Status(grpc::ClientContext&, const google::protobuf::Message&,
                                             google::protobuf::Message&)>;

  std::string verb;             // "GET", "POST", "PUT", "DELETE"
  std::string path;             // a template: "/v1/packages/{PackageID}"
  std::string rpc;              // "DescribePackageV1"
  bool body_is_request = false; // body: "*" -- else the fields come from the path and query
  const google::protobuf::Message* request = nullptr;  // prototype
  const google::protobuf::Message* response = nullptr; // prototype
  invoker call;
};

// The routes of the replaced service's grpc-gateway, each calling `stub`:
//   POST /v1/packages (body *), GET /v1/packages/{PackageID}, GET /v1/packages,
//   DELETE /v1/packages/{PackageID}, PUT /v1/packages/{PackageID} (no body).
std::vector<route>
package_routes(hablof::logistic_package_api::v1::LogisticPackageApiService::Stub& stub);

using path_values = std::vector<std::pair<std::string, std::string>>;

// The path parameters when `path` matches the template, e.g. {{"PackageID", "7"}} for
// "/v1/packages/7" and "/v1/packages/{PackageID}"; nullopt when it does not match.
std::optional<path_values> match_path(const std::string& path_template, const std::string& path);

// The parameter names of a path template, in order.
std::vector<std::string> path_parameters(const std::string& path_template);

} // namespace lpa::rest
